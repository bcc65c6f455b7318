// Just the part of the pcap package's API that this project calls.

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
