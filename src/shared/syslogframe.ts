// A syslog message as glibc's syslog(3) frames it for /dev/log, for every program of the
// package that writes to syslog (the monitor, the notifier; src/shared/logging.ts has
// the priorities they use). The frame is printable ASCII only, whatever text it is given.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** "HH:MM:SS" in local time, as strftime's %X prints it in the C locale. */
export function clockTime(d: Date): string {
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** "Mmm dd hh:mm:ss" with the day padded by a space, as glibc stamps syslog messages. */
export function syslogTimestamp(d: Date): string {
  const day = d.getDate();
  return `${MONTHS[d.getMonth()] as string} ${day < 10 ? ' ' : ''}${day} ${clockTime(d)}`;
}

const NOT_PRINTABLE = /[^\x20-\x7e]/u;
const NOT_PRINTABLE_ALL = /[^\x20-\x7e]/gu;

/**
 * `text` with every character outside printable ASCII written as `\xHH` (control
 * characters, DEL) or `\u{H…}` (the rest), so that no byte of it can end a line, start
 * a new syslog message, or be decoded as another character by a receiver. Printable
 * ASCII comes back unchanged.
 */
export function printable(text: string): string {
  if (!NOT_PRINTABLE.test(text)) return text;
  return text.replace(NOT_PRINTABLE_ALL, (c) => {
    const code = c.codePointAt(0) as number;
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/**
 * The datagram written to /dev/log: priority, time stamp, ident, message; no pid. The
 * message is made printable first; scanlogd's own lines are printable ASCII already, so
 * they go out byte for byte as scanlogd 2.2.8 sends them.
 */
export function syslogDatagram(message: string, when: Date, priority: number, ident: string): Buffer {
  return Buffer.from(`<${priority}>${syslogTimestamp(when)} ${ident}: ${printable(message)}`, 'ascii');
}
