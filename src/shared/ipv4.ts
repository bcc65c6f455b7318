// IPv4 addresses as the detector holds them (unsigned 32-bit numbers, most significant
// byte first) and as people write them: the one parser and printer of the project.

export class AddressError extends Error {
  readonly code = 'ERR_SCANLOGD_ADDRESS';
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * `a.b.c.d` in plain decimal. A leading zero would be octal to inet_aton(3) and decimal
 * to a person, so it is refused rather than guessed.
 */
export function parseAddress(text: string): number {
  const m = DOTTED_QUAD.exec(text);
  if (m === null) throw new AddressError(`not an IPv4 address: ${text}`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function formatAddress(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}
