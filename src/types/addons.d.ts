// Just the parts of the native addons' APIs that this project calls.

declare module 'unix-dgram' {
  import { EventEmitter } from 'node:events';
  class UnixDgramSocket extends EventEmitter {
    connected?: boolean;
    fd: number;
    bind(path: string): void;
    connect(path: string): void;
    /** On a connected socket. */
    send(buf: Buffer, callback?: (err?: NodeJS.ErrnoException) => void): void;
    /** On an unconnected socket: sendto(2) `path`. */
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: NodeJS.ErrnoException) => void): void;
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

// The compiled half of the `pcap` package, used without its JS wrapper (which decodes
// every packet into objects and emits an event for each).
declare module 'pcap/build/Release/pcap_binding.node' {
  class PcapSession {
    /** Returns the link type's name, or "Unknown linktype N". */
    open_live(
      device: string,
      filter: string,
      bufferBytes: number,
      snapLength: number,
      dumpFile: string,
      onPacket: () => void,
      monitorMode: boolean,
      bufferTimeoutMs: number,
      onWarning: (text: string) => void,
      promiscuous: boolean,
    ): string;
    /** Reads every packet the handle has now, calling onPacket for each; returns the last pcap_dispatch result. */
    dispatch(frame: Buffer, header: Buffer): number;
    start_polling(): void;
    close(): void;
    stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
    /** Called by the binding whenever the handle's descriptor is readable. */
    read_callback?: () => void;
  }
  function lib_version(): string;
}
