// --json-syslog through a real log pipeline, configured with the examples the packages
// ship (packaging/rsyslog/): on the monitored host the daemon writes to a real
// rsyslogd, which forwards over RELP with TLS and a disk-assisted queue to a central
// rsyslogd on another host (namespace), which accepts only senders whose certificate
// the site's CA signed for a listed name, and parses the CEE events with mmjsonparse.
// A real nmap scan arrives there as fields; a restart of the central rsyslogd during a
// second scan loses nothing; senders without TLS, with another CA's certificate, with
// an unlisted name or with no certificate, and a raw TCP connection, write nothing.
// Certificates are made by openssl in the test. (journald is not running on this
// machine kind, so what it does with the message is not tested here.)

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { makeSocketDir } from '../../harness/syslog.js';
import { REPO, startOurs } from '../../harness/daemon.js';
import { schemaErrors } from '../helpers/event-schema.js';
import { RSYSLOGD, makeCertificates, startRsyslog, type Rsyslog, type TlsParty } from '../helpers/rsyslog.js';

const RELP = '/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so';
const ready = isRoot && fs.existsSync(RSYSLOGD) && fs.existsSync(RELP);
const rootTest = ready ? test.serial : test.serial.skip;
if (!ready) console.log('fleet tests skipped: they need root, rsyslog and rsyslog-relp (apt-get install rsyslog rsyslog-relp)');

const RELP_PORT = 20514;

/**
 * A shipped example, with the collector's address and port, the log directory and the
 * directory of the party's key and certificates put in; the names in tls.permittedPeer
 * stay as shipped (the collector is logs.example.org, the monitored host web1.example.org).
 */
function example(name: string, bed: Testbed, logDir: string, tls: TlsParty): string[] {
  return fs
    .readFileSync(path.join(REPO, 'packaging', 'rsyslog', name), 'utf8')
    .replaceAll('target="logs.example.org"', `target="${bed.scannerAddr}"`)
    .replaceAll('"2514"', `"${RELP_PORT}"`)
    .replaceAll('/var/log/scanlogd-central/', `${logDir}/`)
    .replaceAll('/etc/scanlogd-relp/', `${tls.dir}/`)
    .split('\n');
}

/** A monitored host's rsyslogd: a socket in, then the shipped forwarding example (or `forward`, a sender of another kind). */
function senderConfig(dir: string, forward: string[]): string[] {
  return ['module(load="imuxsock" SysSock.Use="off")', `input(type="imuxsock" Socket="${dir}/log")`, ...forward];
}

/** The collector: the shipped example as it is, writing below `dir`. */
function centralConfig(dir: string, bed: Testbed, tls: TlsParty): string[] {
  return example('scanlogd-collector.conf', bed, dir, tls);
}

/** The site's CA with the collector and a listed host; another CA with a host of the same name; the site's CA with an unlisted name. */
function certificates(dir: string): { collector: TlsParty; web1: TlsParty; rogue: TlsParty; unlisted: TlsParty } {
  const site = makeCertificates(path.join(dir, 'tls'), 'site-ca', ['logs.example.org', 'web1.example.org', 'intruder.example.org']);
  const other = makeCertificates(path.join(dir, 'tls'), 'other-ca', ['web1.example.org']);
  return {
    collector: site['logs.example.org'] as TlsParty,
    web1: site['web1.example.org'] as TlsParty,
    unlisted: site['intruder.example.org'] as TlsParty,
    rogue: other['web1.example.org'] as TlsParty,
  };
}

function readLines(file: string): string[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** The events the collector wrote, each without the `host` and `peer` the collector added (which are checked). */
function events(dir: string, bed: Testbed): Array<Record<string, unknown>> {
  return readLines(`${dir}/events.json`).map((l) => {
    const { host, peer, ...event } = JSON.parse(l) as Record<string, unknown>;
    if (host !== os.hostname() || peer !== bed.targetAddr) throw new Error(`event from host ${String(host)} at ${String(peer)}: ${l}`);
    return event;
  });
}

/** The classic scan lines the collector wrote to the sending host's file (not the daemon's start and stop lines). */
const classicLines = (dir: string): string[] => readLines(`${dir}/${os.hostname()}.log`).filter((l) => / scanlogd: \S+ to \S+/.test(l));

/** Whether something listens on the collector's RELP port yet (from the central namespace). */
function listening(bed: Testbed): boolean {
  const r = childProcess.spawnSync('ip', ['netns', 'exec', bed.scanner, 'ss', '-Hltn', `sport = :${RELP_PORT}`], { encoding: 'utf8' });
  return r.stdout.trim() !== '';
}

rootTest('a scan reaches the central collector as parsed fields, and a collector restart during a second scan loses nothing', async (t) => {
  t.timeout(120000);
  const bed = createTestbed();
  const dir = makeSocketDir();
  const senderDir = path.join(dir, 'sender');
  const centralDir = path.join(dir, 'central');
  const tls = certificates(dir);
  let central: Rsyslog | null = await startRsyslog(
    centralDir,
    centralConfig(centralDir, bed, tls.collector),
    () => listening(bed),
    bed.scanner,
  );
  const sender = await startRsyslog(
    senderDir,
    senderConfig(senderDir, example('scanlogd-forward.conf', bed, senderDir, tls.web1)),
    () => fs.existsSync(`${senderDir}/log`),
    bed.target,
  );
  const daemon = startOurs(bed, ['--foreground', '--json-syslog', '--syslog-socket', `${senderDir}/log`]);
  t.teardown(async () => {
    try {
      await daemon.kill();
      await sender.stop();
      await central?.stop();
    } finally {
      bed.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await daemon.ready();

  const nmap = async (ports: string, sourcePort: number): Promise<void> => {
    const r = await runIn(bed.scanner, 'nmap', [
      '-n',
      '-Pn',
      '-sS',
      '-g',
      String(sourcePort),
      '--max-retries',
      '0',
      '-p',
      ports,
      bed.targetAddr,
      bed.targetAddr2,
    ]);
    t.is(r.code, 0, r.stderr);
  };
  const scansFrom = (sourcePort: number): Array<Record<string, unknown>> =>
    events(centralDir, bed).filter((e) => e['event'] === 'scan' && e['source_port'] === sourcePort);

  // First scan: both target addresses, so the scan has two destinations.
  await nmap('1-100', 41001);
  await waitFor('the first scan event at the collector', () => (scansFrom(41001).length > 0 ? true : undefined), 15000, 100);
  const first = scansFrom(41001)[0] as Record<string, unknown>;
  t.is(first['source'], bed.scannerAddr);
  t.is(first['syslog'], 'logged');
  t.true((first['ports'] as number[]).length >= 7, JSON.stringify(first));
  t.true(
    (first['destinations'] as string[]).every((d) => d === bed.targetAddr || d === bed.targetAddr2),
    JSON.stringify(first),
  );
  t.deepEqual(schemaErrors(first), []);
  // Its scan_end once it goes quiet, with what the line cannot say.
  await waitFor(
    'the scan_end event at the collector',
    () => (events(centralDir, bed).some((e) => e['event'] === 'scan_end') ? true : undefined),
    15000,
    100,
  );
  const end = events(centralDir, bed).find((e) => e['event'] === 'scan_end') as Record<string, unknown>;
  t.is(end['source'], bed.scannerAddr);
  t.true((end['distinct_ports'] as number) >= 100, JSON.stringify(end));
  t.is(end['port_ranges'], '1-100');
  t.deepEqual([...(end['destinations'] as string[])].sort(), [bed.targetAddr, bed.targetAddr2].sort());
  // The classic line, unparsed, travelled too.
  const classic = classicLines(centralDir);
  t.is(classic.length, 1, classic.join('\n'));
  const dots = (a: string): string => a.replace(/\./g, '\\.');
  t.regex(
    classic[0] as string,
    new RegExp(
      ` scanlogd: ${dots(bed.scannerAddr)}:41001 to (${dots(bed.targetAddr)}|${dots(bed.targetAddr2)})( and others,)? ports \\d+, `,
    ),
  );

  // Second scan while the collector is down: the sending rsyslogd queues it.
  await central.stop();
  central = null;
  await nmap('101-200', 41002);
  await sleep(1500);
  t.is(scansFrom(41002).length, 0, 'nothing can have arrived yet');
  central = await startRsyslog(centralDir, centralConfig(centralDir, bed, tls.collector), () => listening(bed), bed.scanner);
  await waitFor('the second scan at the collector after its restart', () => (scansFrom(41002).length > 0 ? true : undefined), 30000, 200);
  await waitFor(
    'the second scan_end',
    () => (events(centralDir, bed).filter((e) => e['event'] === 'scan_end').length >= 2 ? true : undefined),
    15000,
    100,
  );
  await sleep(500);
  const all = events(centralDir, bed);
  t.is(scansFrom(41001).length, 1, 'the first scan once');
  t.is(scansFrom(41002).length, 1, 'the second scan once');
  t.is(all.filter((e) => e['event'] === 'scan_end').length, 2);
  t.is(classicLines(centralDir).length, 2, 'both classic lines');
  for (const e of all) t.deepEqual(schemaErrors(e), [], JSON.stringify(e));
});

/** An omrelp action to the collector of the test bed, with `tls` settings of its own (none: plain RELP). */
function relpTo(bed: Testbed, tls: string[]): string[] {
  return [
    'module(load="omrelp")',
    `action(type="omrelp" target="${bed.scannerAddr}" port="${RELP_PORT}" action.resumeRetryCount="-1" action.resumeInterval="1"`,
    ...tls,
    ')',
  ];
}

const tlsOf = (party: TlsParty, withCertificate = true): string[] => [
  'tls="on" tls.authMode="name" tls.permittedPeer=["logs.example.org"]',
  `tls.caCert="${party.dir}/ca.pem"`,
  ...(withCertificate ? [`tls.myCert="${party.dir}/cert.pem" tls.myPrivKey="${party.dir}/key.pem"`] : []),
];

rootTest(
  'the collector writes nothing from a sender it cannot authenticate: no TLS, no certificate, another CA, an unlisted name, raw TCP',
  async (t) => {
    t.timeout(120000);
    const bed = createTestbed();
    const dir = makeSocketDir();
    const centralDir = path.join(dir, 'central');
    const tls = certificates(dir);
    const started: Rsyslog[] = [];
    t.teardown(async () => {
      try {
        for (const r of started) await r.stop();
      } finally {
        bed.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
    started.push(await startRsyslog(centralDir, centralConfig(centralDir, bed, tls.collector), () => listening(bed), bed.scanner));
    const senders: Array<[string, string[]]> = [
      ['plain-relp', relpTo(bed, [])],
      ['no-certificate', relpTo(bed, tlsOf(tls.web1, false))],
      ['other-ca', relpTo(bed, tlsOf(tls.rogue))],
      ['unlisted-name', relpTo(bed, tlsOf(tls.unlisted))],
      ['listed', example('scanlogd-forward.conf', bed, path.join(dir, 'listed'), tls.web1)],
    ];
    const forged = (who: string): string => `@cee: {"event":"scan","source":"192.0.2.66","who":"${who}"}`;
    for (const [who, forward] of senders) {
      const senderDir = path.join(dir, who);
      started.push(await startRsyslog(senderDir, senderConfig(senderDir, forward), () => fs.existsSync(`${senderDir}/log`), bed.target));
      const r = await runIn(bed.target, 'logger', ['-u', `${senderDir}/log`, '-t', 'scanlogd', forged(who)]);
      t.is(r.code, 0, r.stderr);
    }
    // A raw TCP connection that writes a RELP-looking frame and a syslog line.
    const raw = await runIn(bed.target, process.execPath, [
      '-e',
      `const s = require('node:net').connect(${RELP_PORT}, '${bed.scannerAddr}', () => s.end('1 syslog 60 <30>Dec  2 09:00:00 web1 scanlogd: ${forged('raw-tcp')}\\n'));
     s.on('error', () => {}); s.on('close', () => process.exit(0));`,
    ]);
    t.is(raw.code, 0, raw.stderr);
    await waitFor(
      "the listed sender's event at the collector",
      () => (readLines(`${centralDir}/events.json`).length > 0 ? true : undefined),
      20000,
      200,
    );
    // The others retry every second: time enough to have been refused several times.
    await sleep(5000);
    const written = readLines(`${centralDir}/events.json`).map((l) => JSON.parse(l) as Record<string, unknown>);
    t.deepEqual(
      written.map((e) => [e['who'], e['peer']]),
      [['listed', bed.targetAddr]],
    );
    t.deepEqual(
      fs.readdirSync(centralDir).filter((f) => f.endsWith('.log')),
      [],
      'no classic line from anyone',
    );
  },
);
