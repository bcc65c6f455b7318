// The parts of unix-dgram's API that the tests' syslog listener (harness/syslog.ts) calls;
// the daemon itself sends with its own addon (native/syslogsock.c).

declare module 'unix-dgram' {
  import { EventEmitter } from 'node:events';
  class UnixDgramSocket extends EventEmitter {
    bind(path: string): void;
    close(): void;
  }
  function createSocket(type: 'unix_dgram', listener?: (msg: Buffer, rinfo: unknown) => void): UnixDgramSocket;
}
