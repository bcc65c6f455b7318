// Each fault is said by the process that has it, through the real daemon: a copy of
// the staged build with one fault planted (an exception inside the monitor's engine,
// or a bad record written by the capture process), set off by one packet to a chosen
// port. The monitor's exit status tells the two apart, and the capture process names it.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { isRoot, runIn, sleep, waitFor } from '../../harness/netns.js';
import { SYSLOG_PREFIX } from '../../harness/syslog.js';
import { entryScript, type OurDaemon } from '../../harness/daemon.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { rootOwnedDir } from '../helpers/dirs.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('fault tests skipped: they need root for network namespaces and raw sockets');

/** The port whose packet sets the planted fault off. */
const TRIGGER_PORT = 31337;

/**
 * A root-owned copy of the staged daemon with `code` appended to one compiled module;
 * returns the copy's entry script.
 */
function plantedCopy(t: ExecutionContext, module: string, code: string): string {
  const staged = path.dirname(path.dirname(entryScript()));
  const dir = rootOwnedDir(t);
  childProcess.execFileSync('cp', ['-a', `${staged}/.`, dir]);
  fs.appendFileSync(path.join(dir, 'dist', 'src', module), `\n// Planted by test/integration/faults.test.ts.\n${code}\n`);
  return path.join(dir, 'bin', 'scanlogd.js');
}

async function runPlanted(t: ExecutionContext, entry: string): Promise<{ daemon: OurDaemon; code: number | null; datagrams: string[] }> {
  const { bed, syslog, daemon } = await startScene(t, [], { entry });
  const sent = await runIn(bed.scanner, 'hping3', ['-q', '-S', '-p', String(TRIGGER_PORT), '-c', '1', bed.targetAddr]);
  t.true(sent.code === 0 || sent.code === 1, `hping3: ${sent.stderr}`); // 1: no reply counted
  const exit = await Promise.race([daemon.exited, sleep(10000).then(() => null)]);
  if (exit === null) throw new Error(`the daemon did not stop within 10 s; its standard error:\n${daemon.stderr()}`);
  await waitFor('the fault in syslog', () => (syslog.datagrams.length > 0 ? true : undefined), 2000);
  return { daemon, code: exit.code, datagrams: [...syslog.datagrams] };
}

rootTest('an exception inside the engine: the monitor says it is its own fault and exits 70; the capture process says so', async (t) => {
  const entry = plantedCopy(
    t,
    'monitor/engine.js',
    `const unplanted = Detector.prototype.process;
Detector.prototype.process = function (pkt, wallMs) {
  if (pkt.dport === ${TRIGGER_PORT}) throw new TypeError('planted in the engine');
  return unplanted.call(this, pkt, wallMs);
};`,
  );
  const { daemon, code, datagrams } = await runPlanted(t, entry);
  t.is(code, 1);
  const stderr = daemon.stderr();
  t.regex(stderr, /^scanlogd monitor: internal fault: planted in the engine$/m);
  t.regex(stderr, /^TypeError: planted in the engine\n\s+at /m);
  t.regex(stderr, /^scanlogd capture: monitor \(pid \d+\) exited with status 70: an internal fault of the monitor \(see its message\)$/m);
  t.notRegex(stderr, /bad record|refused a record/);
  // In syslog too, at daemon.err.
  const fault = datagrams.find((d) => d.endsWith('scanlogd: internal fault: planted in the engine'));
  t.truthy(fault, datagrams.join('\n'));
  t.is(SYSLOG_PREFIX.exec(fault ?? '')?.[1], '27');
});

rootTest(
  'a record the capture process gets wrong: the monitor refuses it and exits 65; the capture process is told it was its record',
  async (t) => {
    const entry = plantedCopy(
      t,
      'capture/packet.js',
      `const unplanted = exports.packetToRecord;
exports.packetToRecord = function (pkt, length, time, out, offset, watched) {
  const verdict = unplanted(pkt, length, time, out, offset, watched);
  // A UDP record type around a SYN's flags: the right size, so the writer sends it.
  if (verdict === 'ok' && out.readUInt16BE(offset + 10) === ${TRIGGER_PORT}) out[offset + 15] = 4;
  return verdict;
};`,
    );
    const { daemon, code, datagrams } = await runPlanted(t, entry);
    t.is(code, 1);
    const stderr = daemon.stderr();
    t.regex(stderr, /^scanlogd monitor: bad record from the capture process: udp4 record of a UDP datagram has flags 2$/m);
    t.regex(
      stderr,
      /^scanlogd capture: monitor \(pid \d+\) exited with status 65: it refused a record from the capture process \(see its message\)$/m,
    );
    t.notRegex(stderr, /internal fault/);
    t.truthy(
      datagrams.find((d) => d.endsWith('scanlogd: bad record from the capture process: udp4 record of a UDP datagram has flags 2')),
      datagrams.join('\n'),
    );
  },
);
