// Just the parts of the native addons' APIs that this project calls.

declare module 'unix-dgram' {
  import { EventEmitter } from 'node:events';
  class UnixDgramSocket extends EventEmitter {
    connected?: boolean;
    fd: number;
    bind(path: string): void;
    connect(path: string): void;
    send(buf: Buffer, callback?: (err?: NodeJS.ErrnoException) => void): void;
    close(): void;
  }
  function createSocket(type: 'unix_dgram', listener?: (msg: Buffer, rinfo: unknown) => void): UnixDgramSocket;
}

declare module 'posix' {
  interface Passwd {
    name: string;
    uid: number;
    gid: number;
    dir: string;
    shell: string;
  }
  function chroot(path: string): void;
  function getpwnam(name: string | number): Passwd;
  function setsid(): number;
  function setrlimit(resource: string, limits: { soft?: number | null; hard?: number | null }): void;
}
