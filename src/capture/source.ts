// The capture seam: what every capture backend (raw socket, libpcap) offers the
// capture loop. Opened as root before the privilege drop, started after it.

export interface PacketSource {
  /**
   * Calls `onPacket` for each packet with a buffer that is reused for the next one,
   * then `onDrained` once the socket has nothing more for now. `onError` ends capture.
   */
  start(onPacket: (pkt: Buffer, length: number) => void, onDrained: () => void, onError: (err: Error) => void): void;
  close(): void;
  /** What the kernel passed and dropped, said at a clean stop as tcpdump does (libpcap only). */
  statsLine?(): string;
}
