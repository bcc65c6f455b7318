// The parts of raw-socket's API that the test packet sender (test/helpers/send-packets.ts)
// calls; the daemon itself does not use raw-socket (it has its own reader, native/rawrecv.c).

declare module 'raw-socket' {
  import { EventEmitter } from 'node:events';
  class Socket extends EventEmitter {
    close(): this;
    setOption(level: number, option: number, value: number | Buffer, length?: number): void;
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      beforeCallback: (() => void) | null,
      afterCallback: (error: Error | null, bytes: number) => void,
    ): this;
  }
  const Protocol: { TCP: number; None: number };
  const AddressFamily: { IPv4: number; IPv6: number };
  function createSocket(options: { protocol?: number; addressFamily?: number; bufferSize?: number }): Socket;
  function createChecksum(...parts: Buffer[]): number;
}
