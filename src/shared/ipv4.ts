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

/** The most directed broadcast addresses a host's list holds; more are left out. */
export const MAX_BROADCASTS = 64;

/** An address of an interface as os.networkInterfaces() lists it (family a number on Node 18.0 to 18.3). */
export interface InterfaceAddress {
  family: string | number;
  address: string;
  netmask: string;
}

/**
 * The directed broadcast addresses of this host's IPv4 networks: each interface
 * address with every host bit of its netmask set. A /31 or a /32 has none (both
 * addresses of a /31 are hosts, RFC 3021). Each once, at most MAX_BROADCASTS.
 */
export function directedBroadcasts(interfaces: Iterable<InterfaceAddress>): number[] {
  const found = new Set<number>();
  for (const { family, address, netmask } of interfaces) {
    if ((family !== 'IPv4' && family !== 4) || found.size >= MAX_BROADCASTS) continue;
    const mask = parseAddress(netmask);
    if (mask >>> 0 === 0xffffffff || mask >>> 0 === 0xfffffffe) continue;
    found.add((parseAddress(address) | ~mask) >>> 0);
  }
  return [...found];
}
