// The real fail2ban-regex with the tree's packaged filter, on syslog datagrams the
// daemon wrote, laid out as rsyslog writes them to a file.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');

/** The addresses fail2ban-regex takes from `datagrams`, one per matched line, in order. */
export function fail2banSources(
  t: { teardown(fn: () => void): void; is(a: unknown, b: unknown, m?: string): void },
  datagrams: readonly string[],
): string[] {
  const dir = fs.mkdtempSync('/tmp/scanlogd-f2b-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // This machine's fail2ban set-up without its jails, with the tree's filter.
  const conf = path.join(dir, 'fail2ban');
  fs.cpSync('/etc/fail2ban', conf, { recursive: true });
  for (const jail of fs.readdirSync(path.join(conf, 'jail.d'))) fs.rmSync(path.join(conf, 'jail.d', jail));
  fs.copyFileSync(
    path.join(__dirname, '..', '..', '..', 'packaging', 'fail2ban', 'filter.d', 'scanlogd-ts.conf'),
    path.join(conf, 'filter.d', 'scanlogd-ts.conf'),
  );
  // Traditional format: the datagram's time stamp, a host name, the rest.
  const log = path.join(dir, 'syslog');
  fs.writeFileSync(log, datagrams.map((d) => `${/^<\d+>(.{15}) /.exec(d)?.[1]} testhost ${d.replace(/^<\d+>.{15} /, '')}\n`).join(''));
  const ips = childProcess.spawnSync('fail2ban-regex', ['-c', conf, '--out', 'ip', log, 'scanlogd-ts'], {
    encoding: 'utf8',
    timeout: 60000,
  });
  t.is(ips.status, 0, ips.stderr);
  return ips.stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '');
}
