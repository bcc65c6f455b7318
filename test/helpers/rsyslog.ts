// A real rsyslogd of a test's own: its configuration, socket, queues and files in one
// directory, optionally inside a network namespace; nothing system-wide.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { sleep, waitFor } from '../../harness/netns.js';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

export interface Rsyslog {
  stop(): Promise<void>;
}

/**
 * Starts rsyslogd with `config` (the lines after its global settings) and `dir` as its
 * work directory, in namespace `ns` if given; resolves once `started()` says so.
 */
export async function startRsyslog(dir: string, config: string[], started: () => boolean, ns: string | null = null): Promise<Rsyslog> {
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'rsyslog.conf');
  fs.writeFileSync(conf, [`global(workDirectory="${dir}")`, ...config, ''].join('\n'));
  const command = [RSYSLOGD, '-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')];
  const child =
    ns === null
      ? childProcess.spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      : childProcess.spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': then its stderr has been read to the end too.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await waitFor(`rsyslogd to start (${err})`, () => (started() ? true : undefined), 10000, 50);
  return {
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Key and certificate files of one party, as the examples name them in /etc/scanlogd-relp/. */
export interface TlsParty {
  dir: string;
}

/**
 * A certificate authority (`ca`, self-signed) below `dir`, and for each of `names` a key
 * and a certificate it signs, for that DNS name (subject and subjectAltName), for TLS
 * clients and servers. Each party's directory holds ca.pem, cert.pem and key.pem.
 */
export function makeCertificates(dir: string, ca: string, names: string[]): Record<string, TlsParty> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const openssl = (args: string[]): void => {
    const r = childProcess.spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const caKey = path.join(dir, `${ca}.key`);
  const caPem = path.join(dir, `${ca}.pem`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caPem, '-days', '2', '-subj', `/CN=${ca}`]);
  const parties: Record<string, TlsParty> = {};
  for (const name of names) {
    const party = path.join(dir, `${ca}-${name}`);
    fs.mkdirSync(party, { mode: 0o700 });
    const csr = path.join(party, 'cert.csr');
    const ext = path.join(party, 'cert.ext');
    fs.writeFileSync(ext, `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(party, 'key.pem'), '-out', csr, '-subj', `/CN=${name}`]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caPem,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      path.join(party, 'cert.pem'),
      '-days',
      '2',
      '-extfile',
      ext,
    ]);
    fs.copyFileSync(caPem, path.join(party, 'ca.pem'));
    parties[name] = { dir: party };
  }
  return parties;
}
