// The raw socket capture backend (Linux, AF_INET/SOCK_RAW/IPPROTO_TCP) behind a small
// seam: open() as root, then start() hands each packet's bytes to a callback.
// Packets are read in batches with recvmmsg(2) by the project's own addon
// (native/rawrecv.c): one system call and one call into JS a batch, not a packet.

import path = require('node:path');
import { StartupError, describe } from '../shared/errors.js';
import type { CaptureHandle, RawRecv } from '../types/rawrecv.js';
import { CAPTURE_SNAPLEN } from './packet.js';
import type { PacketSource } from './source.js';

/** A deep receive queue absorbs bursts while the event loop is busy elsewhere. */
export const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;
/** Packets a recvmmsg call reads at most. */
export const BATCH_SLOTS = 256;
/** Where `npm ci` (node-gyp) puts the addon, relative to dist/src/capture. */
export const ADDON_PATH = path.join(__dirname, '..', '..', '..', 'build', 'Release', 'rawrecv.node');

let loaded: RawRecv | null = null;

/**
 * The one place the addon is loaded. Called when the socket is opened, so as root and
 * before the chroot; the monitor, which never opens one, never maps it.
 */
export function loadRawRecv(): RawRecv {
  if (loaded === null) {
    try {
      loaded = require(ADDON_PATH) as RawRecv;
    } catch (err) {
      throw new StartupError(`raw socket reader ${ADDON_PATH}: ${describe(err)} (npm ci builds it)`, { cause: err });
    }
  }
  return loaded;
}

export function openRawTcpSocket(receiveBufferBytes = RECEIVE_BUFFER_BYTES, reader: RawRecv = loadRawRecv()): PacketSource {
  let handle: CaptureHandle;
  try {
    handle = reader.open(receiveBufferBytes);
  } catch (err) {
    throw new StartupError(`raw socket: ${describe(err)}`, { cause: err });
  }
  const data = Buffer.alloc(BATCH_SLOTS * CAPTURE_SNAPLEN);
  const lengths = new Uint32Array(BATCH_SLOTS);
  const slots = Array.from({ length: BATCH_SLOTS }, (_, i) => data.subarray(i * CAPTURE_SNAPLEN, (i + 1) * CAPTURE_SNAPLEN));
  let state: 'opened' | 'running' | 'closed' = 'opened';
  let failed = false;

  return {
    start(onPacket, onDrained, onError) {
      if (state !== 'opened') throw new Error(`raw socket: start() on a ${state} socket`);
      state = 'running';
      reader.start(
        handle,
        data,
        CAPTURE_SNAPLEN,
        lengths,
        (count) => {
          if (count === 0) {
            if (state === 'running') onDrained();
            return;
          }
          // The batch ends early if a packet's handler closed the socket.
          for (let i = 0; i < count && state === 'running'; i++) onPacket(slots[i] as Buffer, lengths[i] as number);
        },
        (message) => {
          if (state !== 'running' || failed) return;
          failed = true;
          onError(new Error(`raw socket receive: ${message}`));
        },
      );
    },
    close() {
      if (state === 'closed') return;
      state = 'closed';
      reader.close(handle);
    },
  };
}
