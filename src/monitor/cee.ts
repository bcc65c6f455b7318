// Structured events as syslog messages: `@cee: ` and the event's JSON (the cookie
// rsyslog's mmjsonparse and other collectors parse into fields), one event per
// message, cut to fit what a syslog daemon accepts.

import { eventObject, type MonitorEvent } from '../shared/events.js';

export const CEE_COOKIE = '@cee: ';

/**
 * Bytes a message (cookie and JSON, without the syslog header) may have. RFC 5424
 * asks receivers to accept 2048-byte messages; rsyslog's default limit is 8 KiB, and
 * a longer message is cut there, which would leave JSON that no collector parses.
 * With the default thresholds every event fits with room to spare; only a scan with
 * many ports (a high --scan-weight-threshold) or many ranges has lists to cut.
 */
export const CEE_MAX_BYTES = 2048;

/** The lists a too-long event gives up entries from, last entries first, in this order. */
const CUTTABLE: ReadonlyArray<{ field: string; flag: string }> = [
  { field: 'ports', flag: 'ports_truncated' },
  { field: 'port_ranges', flag: 'port_ranges_truncated' },
  { field: 'destinations', flag: 'destinations_truncated' },
];

/**
 * `@cee: {JSON}` for `event`, at most `maxBytes` bytes (the text is ASCII). When the
 * JSON is too long, entries are left out from the end of its lists (ports, then port
 * ranges, then destinations), keeping at least two ports and one destination, and the
 * list's `_truncated` flag says so; every other field is always whole.
 */
export function ceeMessage(event: MonitorEvent, maxBytes = CEE_MAX_BYTES): string {
  const out = eventObject(event);
  let text = CEE_COOKIE + JSON.stringify(out);
  for (const { field, flag } of CUTTABLE) {
    if (text.length <= maxBytes) break;
    const value = out[field];
    if (!Array.isArray(value) && typeof value !== 'string') continue;
    // Room the flag may take, were it added now.
    const excess = text.length - maxBytes + (out[flag] === undefined ? `,"${flag}":true`.length : 0);
    if (typeof value === 'string') {
      // Whole ranges only: cut back to a comma that leaves enough out.
      let keep = value.length - excess;
      while (keep > 0 && value[keep] !== ',') keep--;
      if (keep <= 0) continue;
      out[field] = value.slice(0, keep);
    } else {
      const least = field === 'ports' ? 2 : 1;
      let keep = value.length;
      let removed = 0;
      while (keep > least && removed < excess) {
        keep--;
        removed += JSON.stringify(value[keep]).length + 1;
      }
      if (keep === value.length) continue;
      out[field] = value.slice(0, keep);
    }
    out[flag] = true;
    text = CEE_COOKIE + JSON.stringify(out);
  }
  return text;
}
