// Named sets of detection thresholds (--preset), written as the option values an
// operator would otherwise type; an option given explicitly overrides its preset value.

/**
 * classic: scanlogd 2.2.8's params.h, unchanged (7 privileged ports, or 21 high
 *   ones, with at most 3 s between two of them).
 *
 * sensitive: for honeypots and hosts nobody should probe. Any source touching 4
 *   privileged ports (12 high ones) is reported, and a scan may pause up to 20 s
 *   between ports, which catches nmap's -T1 ("sneaky", 15 s between probes) and
 *   tools that spread a few probes over a minute. Entries now live about 7 times
 *   longer, so the source table is 4 times larger (1024) to keep slow scanners
 *   from being pushed out by background traffic, with the hash grown to keep
 *   scanlogd's two buckets per source. Expect more lines from ordinary clients:
 *   a mail client checking 25, 110, 143 and 587 within 20 s is a "scan" here.
 *
 * relaxed: for busy servers, and for sources that are NAT gateways with many
 *   users behind them. A mail and web host offers 9 or more privileged services
 *   (25, 80, 110, 143, 443, 465, 587, 993, 995), which one gateway's clients can
 *   touch within 3 s; 12 privileged ports (36 high ones) are required, and the
 *   gap is 2 s so that unrelated connections a few seconds apart are not added up.
 *   nmap at its default timing (-T3) probes many ports per second and is still
 *   reported; a scan slower than one port per 2 s is not.
 */
export const PRESETS = {
  classic: {},
  sensitive: { 'scan-min-count': '4', 'scan-delay': '20', sources: '1024', 'hash-size': '2048' },
  relaxed: { 'scan-min-count': '12', 'scan-delay': '2' },
} as const satisfies Record<string, Readonly<Record<string, string>>>;

export type PresetName = keyof typeof PRESETS;

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function presetValues(name: PresetName): Readonly<Record<string, string>> {
  return PRESETS[name];
}
