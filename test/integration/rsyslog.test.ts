// The daemon with a real rsyslogd as its syslog: a scan logged while rsyslogd is
// stopped and restarted still reaches its log, in the form glibc would have sent.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor } from '../../harness/netns.js';
import { makeSocketDir } from '../../harness/syslog.js';
import { REPO, startOurs } from '../../harness/daemon.js';
import type { PacketSpec } from '../helpers/send-packets.js';
import { RSYSLOGD, startRsyslog, type Rsyslog } from '../helpers/rsyslog.js';

const haveRsyslog = fs.existsSync(RSYSLOGD);
const rootTest = isRoot && haveRsyslog ? test.serial : test.serial.skip;
if (!isRoot || !haveRsyslog) console.log('rsyslog tests skipped: they need root and /usr/sbin/rsyslogd (apt-get install rsyslog)');

const SENDER = path.join(REPO, 'dist', 'test', 'helpers', 'send-packets.js');

/** An rsyslogd whose socket and log file are in `dir`. */
function startLocalRsyslog(dir: string): Promise<Rsyslog> {
  return startRsyslog(
    dir,
    [
      'module(load="imuxsock" SysSock.Use="off")',
      `input(type="imuxsock" Socket="${dir}/log")`,
      'template(name="asReceived" type="string" string="%rawmsg%\\n")',
      `*.* action(type="omfile" file="${dir}/messages" template="asReceived")`,
    ],
    () => fs.existsSync(`${dir}/log`),
  );
}

function logged(dir: string): string[] {
  try {
    return (
      fs
        .readFileSync(`${dir}/messages`, 'utf8')
        .split('\n')
        // The daemon's own start and stop lines (daemon.notice, <29>) are not what this test follows.
        .filter((l) => l.includes('scanlogd:') && !l.startsWith('<29>'))
    );
  } catch {
    return [];
  }
}

rootTest('a scan logged while rsyslogd restarts reaches the log once it is back', async (t) => {
  const bed = createTestbed();
  const dir = makeSocketDir();
  let rsyslog: Rsyslog | null = await startLocalRsyslog(dir);
  const daemon = startOurs(bed, ['--foreground', '--syslog-socket', `${dir}/log`]);
  t.teardown(async () => {
    try {
      await daemon.kill();
      await rsyslog?.stop();
    } finally {
      bed.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await daemon.ready();

  const scanFrom = async (src: string): Promise<void> => {
    const packets: PacketSpec[] = Array.from({ length: 8 }, (_, i) => ({
      src,
      dst: bed.targetAddr,
      sport: 4444,
      dport: 20 + i,
      flags: 0x02,
      ttl: 64,
      tos: 0,
      delayMs: 5,
    }));
    const r = await runIn(bed.scanner, process.execPath, [SENDER, JSON.stringify(packets)]);
    t.is(r.code, 0, r.stderr);
  };
  const expected = (src: string): RegExp =>
    new RegExp(
      `^<25>[A-Z][a-z]{2} [ 1-3]\\d \\d\\d:\\d\\d:\\d\\d scanlogd: ${src.replace(/\./g, '\\.')}:4444 to ${bed.targetAddr.replace(/\./g, '\\.')} ports 20, 21, 22, 23, 24, 25, \\.\\.\\., fSrpauxy, TOS 00, TTL 64 @\\d\\d:\\d\\d:\\d\\d$`,
    );

  await scanFrom('198.18.251.1');
  await waitFor('the first line in the log', () => (logged(dir).length >= 1 ? true : undefined), 5000);

  await rsyslog.stop();
  rsyslog = null;
  await scanFrom('198.18.251.2');
  await sleep(500);
  rsyslog = await startLocalRsyslog(dir);
  await waitFor('the line from the outage', () => (logged(dir).length >= 2 ? true : undefined), 5000);
  await sleep(300);

  const lines = logged(dir);
  t.is(lines.length, 2, lines.join('\n'));
  t.regex(lines[0] as string, expected('198.18.251.1'));
  t.regex(lines[1] as string, expected('198.18.251.2'));
  t.true(await daemon.said(/reachable again, delivering 1 queued lines/), daemon.stderr());
});
