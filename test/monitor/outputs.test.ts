// Where the monitor's outputs go: a line to syslog at its priority (and standard error
// with --stderr), an event to the --json descriptor and, with --json-syslog, to syslog
// as a CEE message after the line; the monitor's own faults to both, at daemon.err.

import test from 'ava';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { MonitorOutputs, type OutputSettings } from '../../src/monitor/outputs.js';
import type { DatagramConnector } from '../../src/shared/syslogsock.js';
import type { Output } from '../../src/monitor/pipeline.js';
import { DAEMON_ALERT } from '../../src/shared/logging.js';

/** A syslog socket that takes every datagram, as text. */
function fakeSyslog(): { connect: DatagramConnector; datagrams: string[] } {
  const datagrams: string[] = [];
  return {
    datagrams,
    connect: () => ({
      send: (datagram) => {
        datagrams.push(datagram.toString('latin1'));
        return 'sent';
      },
      onWritable: () => {},
      close: () => {},
    }),
  };
}

/** Standard error as the outputs write it during `run`. */
function stderrOf(run: () => void): string {
  const write = process.stderr.write.bind(process.stderr);
  let said = '';
  process.stderr.write = (text: string) => ((said += text), true);
  try {
    run();
  } finally {
    process.stderr.write = write;
  }
  return said;
}

const SCAN: Output = { kind: 'line', priority: DAEMON_ALERT, text: '198.18.0.2 to 198.18.0.1 ports 1, ..., fSrpauxy @16:16:55' };
const EVENT: Output = { kind: 'event', event: { event: 'suppressed', time: Date.UTC(2024, 10, 25), state: 'start' } };
const base: OutputSettings = { syslogSocket: '/dev/log', stderr: false, json: null, jsonSyslog: false };

test('a line goes to syslog at its priority, stamped and with the ident; an event goes nowhere without --json or --json-syslog', (t) => {
  const syslog = fakeSyslog();
  const outputs = new MonitorOutputs(base, { connect: syslog.connect });
  t.false(outputs.wantsEvents);
  t.is(
    stderrOf(() => outputs.route([SCAN, EVENT])),
    '',
  );
  t.is(syslog.datagrams.length, 1);
  t.regex(
    syslog.datagrams[0] ?? '',
    /^<25>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d scanlogd: 198\.18\.0\.2 to 198\.18\.0\.1 ports 1, \.\.\., fSrpauxy @16:16:55$/,
  );
  t.true(outputs.drained);
});

test('with --stderr a line is echoed on standard error as it is', (t) => {
  const outputs = new MonitorOutputs({ ...base, stderr: true }, { connect: fakeSyslog().connect });
  t.is(
    stderrOf(() => outputs.route([SCAN])),
    `${SCAN.kind === 'line' ? SCAN.text : ''}\n`,
  );
});

test('with --json-syslog an event follows the line as a CEE message at daemon.info', (t) => {
  const syslog = fakeSyslog();
  const outputs = new MonitorOutputs({ ...base, jsonSyslog: true }, { connect: syslog.connect });
  t.true(outputs.wantsEvents);
  outputs.route([SCAN, EVENT]);
  t.is(syslog.datagrams.length, 2);
  t.regex(
    syslog.datagrams[1] ?? '',
    /^<30>.* scanlogd: @cee: \{"event":"suppressed","time":"2024-11-2\dT\d\d:00:00\.000[+-]\d\d:\d\d","state":"start"\}$/,
  );
});

test('with --json an event is written to the descriptor as one line; the outputs are drained once it is', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-outputs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fd = fs.openSync(path.join(dir, 'events.json'), 'a');
  t.teardown(() => fs.closeSync(fd));
  const outputs = new MonitorOutputs({ ...base, json: path.join(dir, 'events.json') }, { connect: fakeSyslog().connect, jsonFd: fd });
  outputs.route([EVENT]);
  for (let i = 0; i < 100 && !outputs.drained; i++) await new Promise((r) => setTimeout(r, 10));
  t.true(outputs.drained);
  t.like(JSON.parse(fs.readFileSync(path.join(dir, 'events.json'), 'utf8')) as object, { event: 'suppressed', state: 'start' });
  t.like(outputs.counts(), { json: { written: 1, dropped: 0 }, syslogEventsDropped: null });
});

test("the monitor's own fault: on standard error, prefixed, and in syslog at daemon.err", (t) => {
  const syslog = fakeSyslog();
  const outputs = new MonitorOutputs(base, { connect: syslog.connect });
  t.is(
    stderrOf(() => outputs.fault('internal fault: x')),
    'scanlogd monitor: internal fault: x\n',
  );
  t.regex(syslog.datagrams[0] ?? '', /^<27>.* scanlogd: internal fault: x$/);
});
