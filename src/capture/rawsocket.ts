// The raw socket capture backend (Linux, AF_INET/SOCK_RAW/IPPROTO_TCP) behind a small
// seam: open() as root, then start() hands each packet's bytes to a callback.

import rawSocket = require('raw-socket');
import { StartupError, describe } from '../shared/errors.js';
import { CAPTURE_SNAPLEN } from './packet.js';

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
/** A deep receive queue absorbs bursts while the event loop is busy elsewhere. */
export const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;
/** Packets read per readiness event before other events get a turn. */
const DRAIN_LIMIT = 4096;
const EAGAIN_TEXT = 'Resource temporarily unavailable';

import type { PacketSource } from './source.js';

export type { PacketSource };

// raw-socket closes its descriptor when the JS object is collected; every socket
// opened here stays referenced for the life of the process.
const liveSockets: rawSocket.Socket[] = [];

export function openRawTcpSocket(receiveBufferBytes = RECEIVE_BUFFER_BYTES): PacketSource {
  let socket: rawSocket.Socket;
  try {
    socket = rawSocket.createSocket({ protocol: rawSocket.Protocol.TCP, bufferSize: CAPTURE_SNAPLEN });
  } catch (err) {
    throw new StartupError(`raw socket: ${describe(err)}`, { cause: err });
  }
  liveSockets.push(socket);
  try {
    socket.setOption(SOL_SOCKET, SO_RCVBUFFORCE, receiveBufferBytes);
  } catch {
    // Without CAP_NET_ADMIN (a systemd unit that does not grant it) the size is capped
    // by net.core.rmem_max, which is still better than the default queue.
    try {
      socket.setOption(SOL_SOCKET, SO_RCVBUF, receiveBufferBytes);
    } catch {
      // The default queue stays; capture still works.
    }
  }
  const buffer = Buffer.alloc(CAPTURE_SNAPLEN);
  let stopped = false;

  return {
    start(onPacket, onDrained, onError) {
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        onError(err);
      };
      const deliver = (_buf: Buffer, bytes: number): void => onPacket(buffer, bytes);
      // Replace the wrapper's one-packet-per-event reader with a loop that empties
      // the queue on each readiness event.
      socket.wrap.removeAllListeners('recvReady');
      socket.wrap.on('recvReady', () => {
        for (let i = 0; i < DRAIN_LIMIT && !stopped; i++) {
          try {
            socket.wrap.recv(buffer, deliver);
          } catch (err) {
            if ((err as Error).message !== EAGAIN_TEXT) fail(new Error(`raw socket receive: ${describe(err)}`));
            break;
          }
        }
        onDrained();
      });
      socket.on('error', (err: Error) => fail(new Error(`raw socket: ${describe(err)}`)));
      socket.on('close', () => {
        if (!stopped) fail(new Error('raw socket closed'));
      });
    },
    close() {
      stopped = true;
      socket.close();
    },
  };
}
