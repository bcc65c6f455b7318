// The API of the syslog socket addon (native/syslogsock.c, built into
// build/Release/syslogsock.node); src/shared/syslogsock.ts is the one place that loads it.

/** A connected Unix datagram socket, owned by the addon; closing it is close()'s job, never the GC's. */
export interface SyslogHandle {
  readonly __syslogsockHandle: unique symbol;
}

export interface SyslogSock {
  /**
   * A non-blocking, close-on-exec AF_UNIX/SOCK_DGRAM socket connected to `path`; throws
   * strerror's words with the number in `errno` (ENOENT, ECONNREFUSED, ...).
   */
  connect(path: string, onWritable: () => void): SyslogHandle;
  /**
   * Writes one datagram with write(2): 0 sent; 1 busy, the receiver's queue is full and
   * onWritable is called once the socket takes datagrams again; or -errno.
   */
  send(handle: SyslogHandle, datagram: Buffer): number;
  /** Closes the socket; calling it again does nothing. */
  close(handle: SyslogHandle): void;
}
