// The raw socket capture backend (Linux, SOCK_RAW) behind a small seam: open() as
// root, then start() hands each packet's bytes to a callback. scanlogd's one socket is
// AF_INET/IPPROTO_TCP; --udp adds AF_INET/IPPROTO_UDP, --ipv6 adds AF_INET6 sockets
// for TCP (and UDP), each read on its own. Packets are read in batches with
// recvmmsg(2) by the project's own addon (native/rawrecv.c): one system call and one
// call into JS a batch, not a packet.

import { StartupError, messageOf } from '../shared/errors.js';
import { loadAddon } from '../shared/addon.js';
import type { CaptureHandle, RawRecv } from '../types/rawrecv.js';
import { IPPROTO_TCP, IPPROTO_UDP, type Protocol } from '../shared/record.js';
import { CAPTURE_SNAPLEN, type Watched } from './packet.js';
import { BATCH_SLOTS, batchBuffers, batchSource, type KernelDrops, type PacketSource } from './source.js';

/** A deep receive queue absorbs bursts while the event loop is busy elsewhere. */
export const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;
/**
 * The one place the addon is loaded. Called when the socket is opened, so as root and
 * before the chroot; the monitor, which never opens one, never maps it.
 */
export function loadRawRecv(): RawRecv {
  return loadAddon<RawRecv>('rawrecv', 'raw socket reader');
}

/** One raw socket: an address family and a transport protocol. */
export interface RawSocketKind {
  family: 4 | 6;
  protocol: Protocol;
}

const PROTOCOL_NUMBER: Readonly<Record<Protocol, 6 | 17>> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP };

/** The sockets that watch what `watched` asks for: scanlogd's own first. */
export function rawSocketKinds(watched: Readonly<Watched>): RawSocketKind[] {
  const kinds: RawSocketKind[] = [{ family: 4, protocol: 'tcp' }];
  if (watched.udp) kinds.push({ family: 4, protocol: 'udp' });
  if (watched.ipv6) kinds.push({ family: 6, protocol: 'tcp' });
  if (watched.ipv6 && watched.udp) kinds.push({ family: 6, protocol: 'udp' });
  return kinds;
}

/**
 * Opens every socket `watched` needs, all before the privilege drop; one that cannot
 * be opened closes those already open and is a start-up error naming it. Each is read
 * on its own; the callbacks see them as one source.
 */
export function openRawSockets(
  watched: Readonly<Watched>,
  receiveBufferBytes = RECEIVE_BUFFER_BYTES,
  reader: RawRecv = loadRawRecv(),
): PacketSource {
  const sources: PacketSource[] = [];
  try {
    for (const kind of rawSocketKinds(watched)) sources.push(openRawSocket(kind, receiveBufferBytes, reader));
  } catch (err) {
    for (const source of sources) source.close();
    throw err;
  }
  const kernelDrops = (): KernelDrops[] => sources.flatMap((source) => source.kernelDrops());
  return {
    start(onPacket, onDrained, onError) {
      for (const source of sources) source.start(onPacket, onDrained, onError);
    },
    close() {
      for (const source of sources) source.close();
    },
    kernelDrops,
    statsLine: () => kernelDropsLine(kernelDrops()),
  };
}

/** The stop line: what the kernel dropped on the raw sockets, each named where there are several. */
export function kernelDropsLine(drops: readonly KernelDrops[]): string {
  const total = drops.reduce((sum, { count }) => sum + count, 0);
  const each = drops.length > 1 ? ` (${drops.map(({ socket, count }) => `${socket} ${count}`).join(', ')})` : '';
  return `raw socket${drops.length > 1 ? 's' : ''}: ${total} packets dropped by the kernel${each}`;
}

/** scanlogd's socket alone: IPv4 TCP. */
export function openRawTcpSocket(receiveBufferBytes = RECEIVE_BUFFER_BYTES, reader: RawRecv = loadRawRecv()): PacketSource {
  return openRawSocket({ family: 4, protocol: 'tcp' }, receiveBufferBytes, reader);
}

function openRawSocket(kind: RawSocketKind, receiveBufferBytes: number, reader: RawRecv): PacketSource {
  // scanlogd's own socket keeps its name in messages; the others say which they are.
  const name =
    kind.family === 4 && kind.protocol === 'tcp' ? 'raw socket' : `raw socket (IPv${kind.family} ${kind.protocol.toUpperCase()})`;
  let handle: CaptureHandle;
  try {
    handle =
      kind.family === 4 && kind.protocol === 'tcp'
        ? reader.open(receiveBufferBytes)
        : reader.open(receiveBufferBytes, kind.family, PROTOCOL_NUMBER[kind.protocol]);
  } catch (err) {
    throw new StartupError(`${name}: ${messageOf(err)}`, { cause: err });
  }
  const buffers = batchBuffers(CAPTURE_SNAPLEN);
  const slots = Array.from({ length: BATCH_SLOTS }, (_, i) => buffers.data.subarray(i * CAPTURE_SNAPLEN, (i + 1) * CAPTURE_SNAPLEN));
  const socket = `${kind.protocol}${kind.family}` as const;
  const source = batchSource(
    reader,
    handle,
    buffers,
    { label: name, noun: 'socket', failure: (message) => `${name} receive: ${message}` },
    (slot, length, onPacket) => onPacket(slots[slot] as Buffer, length),
  );
  return {
    start: (onPacket, onDrained, onError) => source.start(onPacket, onDrained, onError),
    close: () => source.close(),
    kernelDrops: () => (source.closed ? [] : [{ socket, count: reader.drops(handle) }]),
  };
}
