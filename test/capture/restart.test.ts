// The fresh image's command line, and the node options of the processes the daemon
// starts, on a runtime with --disable-sigusr1 (Node 22.14 and later, 24) and on one
// without it (Node 20).

import test from 'ava';
import { freshArguments } from '../../src/capture/restart.js';
import { NO_SIGNAL_INSPECTOR, nodeOptions } from '../../src/capture/runtime.js';

const WITH = new Set(['--max-semi-space-size', NO_SIGNAL_INSPECTOR]);
const WITHOUT = new Set(['--max-semi-space-size']);

test('the fresh image runs the same script with the same arguments, and without an inspector on SIGUSR1 where the runtime can say so', (t) => {
  const argv = ['--foreground', '--syslog-socket', '/dev/log', '--status-fd', '3'];
  t.deepEqual(freshArguments(['--max-semi-space-size=1'], '/usr/lib/scanlogd/bin/scanlogd.js', argv, WITH), [
    '--max-semi-space-size=1',
    NO_SIGNAL_INSPECTOR,
    '/usr/lib/scanlogd/bin/scanlogd.js',
    ...argv,
  ]);
  t.deepEqual(freshArguments(['--max-semi-space-size=1'], '/x/bin/scanlogd.js', argv, WITHOUT), [
    '--max-semi-space-size=1',
    '/x/bin/scanlogd.js',
    ...argv,
  ]);
  // Given already (by the launcher): not twice.
  t.deepEqual(freshArguments(['--max-semi-space-size=1', NO_SIGNAL_INSPECTOR], '/x/bin/scanlogd.js', ['-f'], WITH), [
    '--max-semi-space-size=1',
    NO_SIGNAL_INSPECTOR,
    '/x/bin/scanlogd.js',
    '-f',
  ]);
});

test('a foreground start from the command line gets the heap option in its fresh image; a value the user gave stays', (t) => {
  t.deepEqual(freshArguments([], '/x/bin/scanlogd.js', ['-f'], WITHOUT), ['--max-semi-space-size=1', '/x/bin/scanlogd.js', '-f']);
  t.deepEqual(freshArguments(['--max-semi-space-size=4'], '/x/bin/scanlogd.js', ['-f'], WITH), [
    '--max-semi-space-size=4',
    NO_SIGNAL_INSPECTOR,
    '/x/bin/scanlogd.js',
    '-f',
  ]);
});

test('the monitor and a detached daemon get the heap option, and --disable-sigusr1 where the runtime has it', (t) => {
  t.deepEqual(nodeOptions(WITH), ['--max-semi-space-size=1', NO_SIGNAL_INSPECTOR]);
  t.deepEqual(nodeOptions(WITHOUT), ['--max-semi-space-size=1']);
  const major = Number(process.versions.node.split('.')[0]);
  const minor = Number(process.versions.node.split('.')[1]);
  // The lines this project runs on: 20 lacks the option, 22.14 and later and 24 have it.
  if ([20, 22, 24].includes(major)) {
    t.is(nodeOptions().includes(NO_SIGNAL_INSPECTOR), major === 24 || (major === 22 && minor >= 14), `on ${process.version}`);
  }
});
