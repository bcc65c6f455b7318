// Each process loads its own side only: read from /proc/PID/maps of the running daemon,
// the monitor has never mapped the addons that chroot or capture packets (nor libpcap),
// and the capture process has never mapped the syslog socket's.

import test from 'ava';
import fs = require('node:fs');
import { isRoot } from '../../harness/netns.js';
import { startScene } from '../../harness/testbed-daemon.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('process role tests skipped: they need root for the raw socket and the privilege drop');

/** The native addons (.node files) a process has mapped, by file name. */
function mappedAddons(pid: number): string[] {
  const names = new Set<string>();
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const m = /\/([^/\s]+\.node)(?: \(deleted\))?$/.exec(line);
    if (m !== null) names.add(m[1] as string);
  }
  return [...names].sort();
}

const CAPTURE_ONLY = ['privdrop.node', 'rawrecv.node', 'pcaprecv.node'];
const MONITOR_ONLY = ['syslogsock.node'];
/** Both halves set their own process attributes. */
const BOTH = ['procctl.node'];

for (const backend of ['raw socket', 'libpcap'] as const) {
  rootTest(`${backend}: the monitor maps no capture-side addon, the capture process no monitor-side one`, async (t) => {
    const scene = await startScene(t, (bed) => (backend === 'libpcap' ? ['--interface', bed.targetDev] : []));
    const { capturePid, monitorPid } = await scene.daemon.ready();
    const capture = mappedAddons(capturePid);
    const monitor = mappedAddons(monitorPid);
    t.log(`capture: ${capture.join(' ')}; monitor: ${monitor.join(' ')}`);
    // What each side needs is there: the check reads the right processes.
    t.true(capture.includes('privdrop.node'));
    t.true(capture.includes('procctl.node'));
    t.true(capture.includes(backend === 'libpcap' ? 'pcaprecv.node' : 'rawrecv.node'));
    t.deepEqual(monitor, [...BOTH, ...MONITOR_ONLY].sort());
    t.notRegex(fs.readFileSync(`/proc/${monitorPid}/maps`, 'utf8'), /libpcap\.so/);
    t.deepEqual(
      capture.filter((name) => MONITOR_ONLY.includes(name)),
      [],
    );
    t.deepEqual(
      capture.filter((name) => !CAPTURE_ONLY.includes(name) && !BOTH.includes(name)),
      [],
      'the capture process maps only capture-side addons',
    );
  });
}
