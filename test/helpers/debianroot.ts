// A Debian 13 (trixie) root for the packaging tests: made with debootstrap from the
// mirror this machine's apt uses, kept as a tarball, and copied afresh for each test.

import type { ExecutionContext } from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { REPO } from '../../harness/daemon.js';
import { ok, run, type Result } from './commands.js';

export const SUITE = 'trixie';
/** One root per machine, rebuilt when older than this: apt fetches current dependencies at each install anyway. */
const ROOT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
const CACHE = '/var/cache/scanlogd-ts/debian';
export const PKG = 'scanlogd-ts';
/** debootstrap and apt download from Debian's mirrors: give each step this long. */
export const SLOW_MS = 15 * 60000;

/**
 * The Debian archive and security mirrors this machine's apt uses (one-line .list
 * files and deb822 .sources files alike), so that the test reaches Debian the way the
 * machine does.
 */
export function debianMirrors(files: Array<{ name: string; text: string }>): { archive: string; security: string } {
  const uris: string[] = [];
  for (const { name, text } of files) {
    if (name.endsWith('.sources')) {
      for (const m of text.matchAll(/^URIs:\s*(.+)$/gm)) uris.push(...(m[1] as string).trim().split(/\s+/));
    } else {
      for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)) uris.push(m[1] as string);
    }
  }
  const debian = uris.filter((u) => /\/debian(-security)?\/?$/.test(u)).map((u) => u.replace(/\/$/, ''));
  const archive = debian.find((u) => !u.endsWith('-security'));
  if (archive === undefined) throw new Error(`no Debian archive among the apt sources (${uris.join(', ')})`);
  return { archive, security: debian.find((u) => u.endsWith('-security')) ?? archive.replace(/\/debian$/, '/debian-security') };
}

function machineMirrors(): { archive: string; security: string } {
  const files = ['/etc/apt/sources.list', ...fs.readdirSync('/etc/apt/sources.list.d').map((n) => `/etc/apt/sources.list.d/${n}`)]
    .filter((f) => fs.existsSync(f) && (f.endsWith('.list') || f.endsWith('.sources')))
    .map((name) => ({ name, text: fs.readFileSync(name, 'utf8') }));
  return debianMirrors(files);
}

/**
 * Builds the minimal Debian 13 root once (under a lock, so that two runs share it) and
 * keeps it as a tarball; $0 the tarball, $1 the archive mirror, $2 the security mirror,
 * $3 the oldest acceptable age in minutes, $4 the packages to add (debootstrap's
 * --include list, or empty).
 */
const BUILD_ROOT = String.raw`
set -eu
tarball=$0 archive=$1 security=$2 minutes=$3 include=$4
if [ -f "$tarball" ] && [ -z "$(find "$tarball" -mmin +"$minutes")" ]; then exit 0; fi
work=$(mktemp -d "$(dirname "$tarball")/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "$include" ]; then set -- --include="$include"; else set --; fi
debootstrap --variant=minbase "$@" ${SUITE} "$work/root" "$archive" >"$work/log" 2>&1 || { tail -20 "$work/log" >&2; exit 1; }
cat >"$work/root/etc/apt/sources.list" <<EOF
deb $archive ${SUITE} main
deb $archive ${SUITE}-updates main
deb $security ${SUITE}-security main
EOF
# Services are never started by the packages' scripts here: the test runs the daemon.
printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
chmod 0755 "$work/root/usr/sbin/policy-rc.d"
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
tar --numeric-owner -C "$work/root" -cpf "$work/root.tar" .
mv "$work/root.tar" "$tarball"
`;

/** The cached root with `include` added to the minimal one (its own tarball). */
function debianRootTarball(include: string[]): string {
  const { archive, security } = machineMirrors();
  const tarball = path.join(CACHE, `${SUITE}-minbase${include.map((p) => `+${p}`).join('')}.tar`);
  fs.mkdirSync(CACHE, { recursive: true, mode: 0o755 });
  const r = run(
    'flock',
    [path.join(CACHE, '.lock'), 'sh', '-c', BUILD_ROOT, tarball, archive, security, String(ROOT_MAX_AGE_MS / 60000), include.join(',')],
    { timeout: SLOW_MS },
  );
  if (r.code !== 0) throw new Error(`building the Debian 13 root failed:\n${r.stderr}`);
  return tarball;
}

/**
 * Runs `script` (sh) with $ROOT as / for the commands it chroots into: in a private
 * mount namespace with /proc and /dev mounted in the root, and, with `netns`, in that
 * network namespace. Arguments after the script are $1...
 */
export function inRoot(root: string, script: string, args: string[] = [], netns: string | null = null): string[] {
  const body = `set -eu; mount -t proc proc "$ROOT/proc"; mount --rbind /dev "$ROOT/dev"; ${script}`;
  const command = ['unshare', '--mount', '--propagation', 'private', 'env', `ROOT=${root}`, 'sh', '-c', body, 'sh', ...args];
  return netns === null ? command : ['ip', 'netns', 'exec', netns, ...command];
}

export function inRootSync(root: string, script: string, args: string[] = []): Result {
  const [cmd, ...rest] = inRoot(root, script, args);
  return run(cmd as string, rest, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: SLOW_MS });
}

export function debFile(): string {
  const dist = path.join(REPO, 'dist');
  const found = fs.existsSync(dist) ? fs.readdirSync(dist).filter((n) => n.startsWith(`${PKG}_`) && n.endsWith('.deb')) : [];
  if (found.length !== 1) throw new Error(`expected one ${PKG}_*.deb in ${dist}: run npm run package first`);
  return path.join(dist, found[0] as string);
}

/** A copy of the cached root (with `include` added), removed when the test ends. */
export function freshRoot(t: ExecutionContext, include: string[] = []): string {
  const tarball = debianRootTarball(include);
  const root = fs.mkdtempSync('/var/tmp/scanlogd-trixie-');
  t.teardown(() => {
    // The mounts were made in private namespaces: none reaches this one. Were one here,
    // removing the tree would remove the machine's /dev through it.
    if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${root}/`))
      throw new Error(`${root} has mounts below it: left in place`);
    fs.rmSync(root, { recursive: true, force: true });
  });
  ok('tar', ['--numeric-owner', '-C', root, '-xpf', tarball]);
  fs.chmodSync(root, 0o755);
  fs.copyFileSync('/etc/resolv.conf', path.join(root, 'etc/resolv.conf'));
  return root;
}
