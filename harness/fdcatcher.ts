// A Unix datagram socket that another user binds and that reports every message it
// receives, with the descriptors passed in it (SCM_RIGHTS) by what they refer to: the
// receiving end of the isolation tests' "give away a descriptor" attack.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { waitFor } from './netns.js';

const RECEIVER = `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
print('ready', flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64 * 4))
    fds = array.array('i')
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    print('message', data.hex(), ' '.join(os.readlink('/proc/self/fd/%d' % fd) for fd in fds), flush=True)
`;

export interface Received {
  data: Buffer;
  /** What each descriptor passed with the message refers to (its /proc/self/fd link). */
  descriptors: string[];
}

export interface FdCatcher {
  /** The socket's path, in a directory every user may enter. */
  path: string;
  received(): Received[];
  close(): void;
}

/** Binds the socket as `uid`/`gid` (mode 0777, so any user may send to it) and waits until it reads. */
export async function catchDescriptors(uid: number, gid: number): Promise<FdCatcher> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-fdcatcher-'));
  fs.chmodSync(dir, 0o755);
  fs.chownSync(dir, uid, gid);
  const socketPath = path.join(dir, 'sock');
  const child = childProcess.spawn(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '/usr/bin/python3', '-c', RECEIVER, socketPath],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const close = (): void => {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('the receiving socket', () => (out.startsWith('ready\n') ? true : undefined), 5000);
  } catch (err) {
    close();
    throw err;
  }
  return {
    path: socketPath,
    received: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('message '))
        .map((line) => {
          const [, hex = '', ...descriptors] = line.split(' ');
          return { data: Buffer.from(hex, 'hex'), descriptors: descriptors.filter((d) => d !== '') };
        }),
    close,
  };
}

/** A struct sockaddr_un for `socketPath`, and its length as connect(2) takes it. */
export function sockaddrUn(socketPath: string): { address: Buffer; length: number } {
  const address = Buffer.concat([Buffer.from([1, 0]), Buffer.from(`${socketPath}\0`)]);
  return { address, length: address.length };
}
