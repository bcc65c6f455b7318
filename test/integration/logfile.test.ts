// The packages' rsyslog rule (packaging/scanlogd.rsyslog) in a real rsyslogd: the
// daemon's lines from an nmap scan and the notifier's reports reach the file of their
// own; the @cee: events of --json-syslog and other programs' messages do not.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { isRoot, runIn, waitFor } from '../../harness/netns.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { makeSocketDir } from '../../harness/syslog.js';
import { REPO } from '../../harness/daemon.js';
import { RSYSLOGD, startRsyslog } from '../helpers/rsyslog.js';
import { explained, makeNotifyDir, startEndpoint, startNotifier, writeConfig } from '../helpers/notify.js';

const haveRsyslog = fs.existsSync(RSYSLOGD);
const rootTest = isRoot && haveRsyslog ? test.serial : test.serial.skip;
if (!isRoot || !haveRsyslog) console.log('log file tests skipped: they need root and /usr/sbin/rsyslogd (apt-get install rsyslog)');

rootTest("the rsyslog rule writes scanlogd's lines and the notifier's reports to a file of their own, and nothing else", async (t) => {
  const d = makeNotifyDir(t);
  // Apart from the notifier's directory, which the daemon's user cannot enter.
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'scanlogd.log');
  // The rule as shipped, with the file moved into the test's directory.
  const rule = fs.readFileSync(path.join(REPO, 'packaging', 'scanlogd.rsyslog'), 'utf8');
  t.true(rule.includes('file="/var/log/scanlogd.log"'));
  const rsyslog = await startRsyslog(
    dir,
    [
      'module(load="imuxsock" SysSock.Use="off")',
      `input(type="imuxsock" Socket="${dir}/log")`,
      rule.replace('file="/var/log/scanlogd.log"', `file="${file}"`),
      // Everything, to show that what the rule leaves out was sent.
      `*.* action(type="omfile" file="${dir}/all")`,
    ],
    () => fs.existsSync(`${dir}/log`),
  );
  t.teardown(() => rsyslog.stop());

  // The daemon logs to that rsyslogd (the later --syslog-socket wins), with its
  // structured events as well; the notifier reports its failures there (--syslog).
  const { bed } = await startScene(t, ['--syslog-socket', `${dir}/log`, '--json-syslog', '--json', d.events]);
  const hook = await startEndpoint(t, { status: 500, body: 'down' });
  writeConfig(d.config, [`webhook = ${hook.url}/hook`, 'interval = 1', 'wait = 0.5']);
  const notifier = startNotifier(t, [
    '--config',
    d.config,
    '--events',
    d.events,
    '--state',
    d.state,
    '--syslog',
    '--syslog-socket',
    `${dir}/log`,
  ]);
  await waitFor('the notifier to follow the file', () => (notifier.stderr().includes('following') ? true : undefined));

  const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '-g', '40000', '--max-retries', '0', '-p', '1-20', bed.targetAddr]);
  t.is(r.code, 0, r.stderr);
  const other = await runIn(bed.target, 'logger', ['-u', `${dir}/log`, '-t', 'someone-else', '-p', 'daemon.alert', 'not scanlogd']);
  t.is(other.code, 0, other.stderr);
  const text = (): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  await explained(
    notifier,
    waitFor(
      "the notifier's report in the file",
      () => (/ scanlogd-notify: webhook \(http:\/\/127\.0\.0\.1:\d+\): delivery failed \(HTTP 500: down\)/.test(text()) ? true : undefined),
      15000,
      100,
    ),
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nthe file holds:\n${text()}`);
  });
  const lines = text()
    .split('\n')
    .filter((l) => l !== '');
  const escaped = bed.scannerAddr.replace(/\./g, '\\.');
  t.true(
    lines.some((l) => new RegExp(` scanlogd: ${escaped}:40000 to ${bed.targetAddr.replace(/\./g, '\\.')} ports `).test(l)),
    text(),
  );
  const all = fs.readFileSync(path.join(dir, 'all'), 'utf8');
  t.regex(all, / scanlogd: @cee: \{"event":"scan",/);
  t.regex(all, / someone-else: not scanlogd/);
  t.false(
    lines.some((l) => l.includes('@cee:')),
    'the structured events stay out',
  );
  t.false(
    lines.some((l) => l.includes('someone-else')),
    'other programs stay out',
  );
  t.true(
    lines.every((l) => / scanlogd(-notify)?: /.test(l)),
    text(),
  );
});
