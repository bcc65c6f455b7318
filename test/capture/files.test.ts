// The files the capture process handles as root before the drop, on the real file
// system: the pidfile's directory and the pidfile itself, and the --json file it opens
// for the monitor, with every refusal in its own words.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import { checkPidfileDir, claimPidfile, openJsonOutput, releasePidfile } from '../../src/capture/files.js';
import { loadPrivDrop } from '../../src/capture/privdrop.js';
import type { Account } from '../../src/capture/privdrop.js';
import { StartupError } from '../../src/shared/errors.js';
import { isRoot } from '../../harness/netns.js';
import { rootOwnedDir } from '../helpers/dirs.js';

const rootTest = isRoot ? test : test.skip;
if (!isRoot) console.log('pidfile and --json file tests skipped: they need root to create root-owned files and directories');

const NOBODY: Account = { name: 'nobody', uid: 65534, gid: 65534 };

const tree = rootOwnedDir;

rootTest('checkPidfileDir: a directory the account may write and others may not; anything else is refused, saying why', (t) => {
  const dir = tree(t);
  fs.mkdirSync(`${dir}/run`, { mode: 0o755 });
  fs.chownSync(`${dir}/run`, NOBODY.uid, NOBODY.gid);
  t.notThrows(() => checkPidfileDir(`${dir}/run/scanlogd.pid`, NOBODY));
  fs.chmodSync(`${dir}/run`, 0o777);
  t.is(
    t.throws(() => checkPidfileDir(`${dir}/run/scanlogd.pid`, NOBODY), { instanceOf: StartupError })?.message,
    `pidfile ${dir}/run/scanlogd.pid: directory ${dir}/run is writable by others (mode 777); use one that only root and user nobody can write, such as /run/scanlogd`,
  );
  // Root's own directory: the capture process, dropped to the account, could not remove the file at its end.
  t.is(
    t.throws(() => checkPidfileDir(`${dir}/scanlogd.pid`, NOBODY))?.message,
    `pidfile ${dir}/scanlogd.pid: directory ${dir} must be writable by user nobody, which removes the file at the end`,
  );
  t.regex(
    t.throws(() => checkPidfileDir(`${dir}/absent/scanlogd.pid`, NOBODY))?.message ?? '',
    /^pidfile .*: directory .*\/absent: No such file or directory$/,
  );
});

rootTest(
  'claimPidfile: the pid and a newline over a stale file, locked: a second claim is refused naming the holder, never through a link',
  (t) => {
    const dir = tree(t);
    const file = `${dir}/scanlogd.pid`;
    const lock = loadPrivDrop();
    fs.writeFileSync(file, '99999\n');
    const held = claimPidfile(file, lock);
    t.is(fs.readFileSync(file, 'utf8'), `${process.pid}\n`);
    // Another open file description, as a second daemon's would be.
    t.is(
      t.throws(() => claimPidfile(file, lock), { instanceOf: StartupError })?.message,
      `another scanlogd (pid ${process.pid}) holds ${file}`,
    );
    t.is(fs.readFileSync(file, 'utf8'), `${process.pid}\n`);
    fs.closeSync(held.fd);
    fs.closeSync(held.dirFd);
    const again = claimPidfile(file, lock);
    fs.closeSync(again.fd);
    fs.closeSync(again.dirFd);
    // A link planted at the path is refused, not followed: its target is untouched.
    fs.writeFileSync(`${dir}/target`, 'keep');
    fs.rmSync(file);
    fs.symlinkSync(`${dir}/target`, file);
    t.is(t.throws(() => claimPidfile(file, lock))?.message, `pidfile ${file}: Too many levels of symbolic links`);
    t.is(fs.readFileSync(`${dir}/target`, 'utf8'), 'keep');
    t.is(
      t.throws(() => claimPidfile(`${dir}/absent/scanlogd.pid`, lock), { instanceOf: StartupError })?.message,
      `pidfile ${dir}/absent/scanlogd.pid: directory ${dir}/absent: No such file or directory`,
    );
  },
);

rootTest('releasePidfile: removes the file it locked, through the directory opened at the claim; a file put in its place stays', (t) => {
  const dir = tree(t);
  const file = `${dir}/scanlogd.pid`;
  const calls = loadPrivDrop();
  const held = claimPidfile(file, calls);
  t.teardown(() => [held.fd, held.dirFd].forEach((fd) => fs.closeSync(fd)));
  t.is(releasePidfile(held, calls), null);
  t.false(fs.existsSync(file));
  // Already gone: nothing to say.
  t.is(releasePidfile(held, calls), null);
  // Another file under the name (a newer instance's): left alone, and said.
  fs.writeFileSync(file, '4242\n');
  t.is(releasePidfile(held, calls), `pidfile ${file} left in place: it is not the file this process locked`);
  t.is(fs.readFileSync(file, 'utf8'), '4242\n');
});

rootTest('openJsonOutput: a new file is root\'s, 0640 whatever the umask, appended to when opened again; "-" is standard output', (t) => {
  const dir = tree(t);
  t.is(openJsonOutput('-'), 1);
  const file = `${dir}/events.json`;
  const umask = process.umask(0o077);
  let fd: number;
  try {
    fd = openJsonOutput(file);
  } finally {
    process.umask(umask);
  }
  fs.writeSync(fd, 'first\n');
  fs.closeSync(fd);
  const st = fs.statSync(file);
  t.is(st.uid, 0);
  t.is(st.mode & 0o7777, 0o640);
  const again = openJsonOutput(file);
  fs.writeSync(again, 'second\n');
  fs.closeSync(again);
  t.is(fs.readFileSync(file, 'utf8'), 'first\nsecond\n', 'appended, not truncated');
});

rootTest('openJsonOutput: a copy of a system file is refused and keeps its mode and contents', (t) => {
  const dir = tree(t);
  const file = `${dir}/passwd`;
  fs.copyFileSync('/etc/passwd', file);
  fs.chmodSync(file, 0o644);
  const err = t.throws(() => openJsonOutput(file), { instanceOf: StartupError });
  t.is(err?.message, `--json ${file}: its mode is 644, not 640; the daemon appends only to a file it made`);
  t.is(fs.statSync(file).mode & 0o7777, 0o644);
  t.is(fs.readFileSync(file, 'utf8'), fs.readFileSync('/etc/passwd', 'utf8'));
});

rootTest("openJsonOutput and the pidfile refuse places on the kernel's pseudo file systems", (t) => {
  const mode = fs.statSync('/sys/kernel/mm/transparent_hugepage/enabled').mode;
  t.is(
    t.throws(() => openJsonOutput('/sys/kernel/mm/transparent_hugepage/enabled'), { instanceOf: StartupError })?.message,
    "--json /sys/kernel/mm/transparent_hugepage/enabled: /sys/kernel/mm/transparent_hugepage is under /sys, the kernel's interfaces, not a place for files",
  );
  t.is(fs.statSync('/sys/kernel/mm/transparent_hugepage/enabled').mode, mode);
  t.regex(t.throws(() => openJsonOutput('/proc/self/status'))?.message ?? '', /^--json \/proc\/self\/status: \/proc\/\d+ is under \/proc/);
  t.regex(t.throws(() => openJsonOutput('/dev/pts/x'))?.message ?? '', /^--json \/dev\/pts\/x: \/dev\/pts is under \/dev/);
  t.regex(
    t.throws(() => checkPidfileDir('/proc/self/x.pid', NOBODY))?.message ?? '',
    /^pidfile \/proc\/self\/x\.pid: \/proc\/\d+ is under \/proc/,
  );
});

const refusals: Array<{ name: string; make(dir: string): string; message(dir: string, file: string): RegExp | string }> = [
  {
    name: 'a symbolic link at the path',
    make: (dir) => {
      fs.writeFileSync(`${dir}/target`, '');
      fs.symlinkSync(`${dir}/target`, `${dir}/events.json`);
      return `${dir}/events.json`;
    },
    message: (_dir, file) => `--json ${file}: it exists and is not a regular file; the daemon appends only to a file it made`,
  },
  {
    name: 'a file owned by another user',
    make: (dir) => {
      fs.writeFileSync(`${dir}/events.json`, '');
      fs.chownSync(`${dir}/events.json`, 65534, 65534);
      return `${dir}/events.json`;
    },
    message: (_dir, file) => `--json ${file}: it is owned by uid 65534, not root; the daemon appends only to a file it made`,
  },
  {
    name: 'a second hard link',
    make: (dir) => {
      fs.writeFileSync(`${dir}/other`, '', { mode: 0o640 });
      fs.chmodSync(`${dir}/other`, 0o640);
      fs.linkSync(`${dir}/other`, `${dir}/events.json`);
      return `${dir}/events.json`;
    },
    message: (_dir, file) => `--json ${file}: it has 2 links, not 1; the daemon appends only to a file it made`,
  },
  {
    // Refused before any open, which could block on a FIFO.
    name: 'a FIFO (refused, not waited on)',
    make: (dir) => {
      childProcess.execFileSync('mkfifo', ['-m', '0600', `${dir}/events.json`]);
      return `${dir}/events.json`;
    },
    message: (_dir, file) => `--json ${file}: it exists and is not a regular file; the daemon appends only to a file it made`,
  },
  {
    name: 'a directory writable by others above it',
    make: (dir) => {
      fs.mkdirSync(`${dir}/tmp`);
      fs.chmodSync(`${dir}/tmp`, 0o1777);
      return `${dir}/tmp/events.json`;
    },
    message: (dir, file) => `--json ${file}: directory ${dir}/tmp is writable by others (mode 1777)`,
  },
  {
    name: 'a directory that does not exist',
    make: (dir) => `${dir}/absent/events.json`,
    message: (dir, file) => `--json ${file}: directory ${dir}/absent: No such file or directory`,
  },
];

for (const r of refusals) {
  rootTest(`openJsonOutput refuses ${r.name}`, (t) => {
    const dir = tree(t);
    const file = r.make(dir);
    const err = t.throws(() => openJsonOutput(file), { instanceOf: StartupError });
    const message = r.message(dir, file);
    if (typeof message === 'string') t.is(err?.message, message);
    else t.regex(err?.message ?? '', message);
  });
}
