// Every tunable of the detector, with scanlogd 2.2.8's values as defaults, and the
// rules between them that keep a set of values meaningful. The option table
// (options.ts) takes its defaults from here; both processes derive from it.

/**
 * High ports weigh less than privileged ones so that passive-mode FTP and other
 * services that use many high ports do not look like a scan.
 */
export const PORT_WEIGHT_PRIV = 3;
export const PORT_WEIGHT_HIGH = 1;

/**
 * A scan is at least SCAN_MIN_COUNT privileged ports (or the same total weight in
 * high ports) from one source, with no more than the delay threshold between ports.
 */
export const SCAN_MIN_COUNT = 7;
export const SCAN_WEIGHT_THRESHOLD = derivedThreshold(SCAN_MIN_COUNT, PORT_WEIGHT_PRIV);
export const SCAN_DELAY_THRESHOLD_MS = 3000;

/**
 * Log flood limit: after LOG_COUNT_THRESHOLD scans each within LOG_DELAY_THRESHOLD of
 * the previous one, one "More possible port scans follow" line, then silence until a
 * quiet gap longer than the delay.
 */
export const LOG_COUNT_THRESHOLD = 5;
export const LOG_DELAY_THRESHOLD_MS = 20000;

/** Message body limit, so that an alert fits into one SMS; ports are trimmed to fit. */
export const LOG_MAX_LENGTH = 160 - 40;

/**
 * Fixed-size state: LIST_SIZE sources, the oldest slot reused; a hash of HASH_SIZE
 * buckets holding at most HASH_MAX sources each, so that spoofed addresses chosen to
 * collide cannot make a lookup walk a long chain.
 */
export const LIST_SIZE = 256;
export const HASH_SIZE = 512;
export const HASH_MAX = 16;

/**
 * How a source address picks its hash bucket. `classic` is scanlogd's, so that the
 * same addresses share a bucket here as there (and the same real scanner can be pushed
 * out of its bucket by spoofed addresses chosen for it, as there); `keyed` mixes the
 * address with random bits chosen when the monitor starts, so that nobody outside can
 * compute which addresses share a bucket.
 */
export type HashKind = 'classic' | 'keyed';
export const HASH_KINDS: readonly HashKind[] = ['classic', 'keyed'];

export interface DetectorParams {
  portWeightPriv: number;
  portWeightHigh: number;
  scanWeightThreshold: number;
  /** Ports remembered per source: enough for every port below the threshold. */
  maxPorts: number;
  scanDelayMs: number;
  logCount: number;
  logDelayMs: number;
  /** 0 means no limit. */
  logMaxLength: number;
  listSize: number;
  hashSize: number;
  hashMax: number;
  hash: HashKind;
  /** The second stage (--slow-scans; SLOW_SCAN_DEFAULTS says why each value). */
  slowFailures: number;
  sweepHosts: number;
  slowIdleMs: number;
  slowSources: number;
}

/** What the second stage reads of the parameters. */
export type SlowScanParams = Pick<DetectorParams, 'slowFailures' | 'sweepHosts' | 'slowIdleMs' | 'slowSources'>;

/** First contacts the second stage remembers per source: a sweep threshold must fit in them. */
export const SLOW_CONTACTS = 12;

/**
 * The second stage (--slow-scans) counts failed first contacts per source: a probe
 * to a port of this host no socket listens on, or one to another host that was never
 * answered. README's evaluation (npm run eval) measured each value against nmap's
 * timing templates and the benign traffic that trackers of this kind report:
 *
 * - slowFailures: a slow scan is this many failed first contacts more than
 *   successful ones (a success takes one back, the sum never goes below zero): TRW's
 *   test with its published rates (a benign first contact succeeds 8 times in 10, a
 *   scanner's 2 in 10) makes each contact one step of log 4, and P_D 0.99, P_F 0.01
 *   need 4 steps; one more, since this sum never stops as TRW's test does.
 * - sweepHosts: one port that failed on this many hosts is a sweep.
 * - slowIdleMs: nmap -T0 waits 5 minutes between probes; a source is remembered for
 *   30 minutes after its last new contact (TRW's expiry), so a scan as slow as one
 *   probe in 25 minutes adds up.
 * - slowSources: per address family; sources with two failed contacts are kept until
 *   their expiry whatever arrives, so the table must hold every source that probes
 *   twice within 30 minutes: 4096 is more than two new ones a second.
 */
export const SLOW_SCAN_DEFAULTS: Readonly<SlowScanParams> = Object.freeze({
  slowFailures: 6,
  sweepHosts: 5,
  slowIdleMs: 30 * 60 * 1000,
  slowSources: 4096,
});

export const DEFAULT_PARAMS: Readonly<DetectorParams> = Object.freeze({
  portWeightPriv: PORT_WEIGHT_PRIV,
  portWeightHigh: PORT_WEIGHT_HIGH,
  scanWeightThreshold: SCAN_WEIGHT_THRESHOLD,
  maxPorts: SCAN_WEIGHT_THRESHOLD - 1,
  scanDelayMs: SCAN_DELAY_THRESHOLD_MS,
  logCount: LOG_COUNT_THRESHOLD,
  logDelayMs: LOG_DELAY_THRESHOLD_MS,
  logMaxLength: LOG_MAX_LENGTH,
  listSize: LIST_SIZE,
  hashSize: HASH_SIZE,
  hashMax: HASH_MAX,
  hash: 'classic',
  ...SLOW_SCAN_DEFAULTS,
});

/**
 * Ports a source can send before its weight reaches the threshold. The list must hold
 * them all, or ports would be lost from the log line (scanlogd sizes its array so).
 */
export function portsBelowThreshold(p: Pick<DetectorParams, 'portWeightPriv' | 'portWeightHigh' | 'scanWeightThreshold'>): number {
  const lightest = Math.min(p.portWeightPriv, p.portWeightHigh);
  return Math.ceil(p.scanWeightThreshold / lightest) - 1;
}

/**
 * --hash-max at most: every packet walks its source's chain, so the cap is what a
 * spoofer choosing colliding addresses can make each packet cost. At 256 that stays of
 * the order of the rest of a packet's cost in both processes; the cost grows linearly
 * beyond (`npm run bench:collisions` prints it for each cap).
 */
export const MAX_HASH_MAX = 256;

/** --max-ports at most: it bounds the ports of a scan event, and so the longest event line. */
export const MAX_MAX_PORTS = 10000;

/** Times travel as uint32 milliseconds and are compared as signed differences. */
export const MAX_DELAY_MS = 0x7fffffff;

/** A set of values that does not fit together: the options involved, the first one first, and why. */
export interface Problem {
  /** Long option names without their dashes, as the configuration file knows them. */
  options: string[];
  text: string;
}

/** The weight threshold scanlogd derives: SCAN_MIN_COUNT privileged ports. */
export function derivedThreshold(scanMinCount: number, portWeightPriv: number): number {
  return scanMinCount * portWeightPriv;
}

/**
 * The rules between fields, each with its reason; empty when the values fit together.
 * Each field's own range is the option table's (checkParams in options.ts adds it).
 */
export function crossProblems(p: DetectorParams): Problem[] {
  const problems: Problem[] = [];
  if ((p.hashSize & (p.hashSize - 1)) !== 0) {
    problems.push({ options: ['hash-size'], text: `--hash-size must be a power of two, not ${p.hashSize}` });
  }
  // The first packet of a source is never compared with the threshold (scanlogd adds
  // it without a check), so a threshold one port can reach would never report at all.
  const heaviest = Math.max(p.portWeightPriv, p.portWeightHigh);
  if (p.scanWeightThreshold <= heaviest) {
    problems.push({
      options: ['scan-weight-threshold', 'port-weight-priv', 'port-weight-high'],
      text:
        `--scan-weight-threshold ${p.scanWeightThreshold} is reached by a single port of weight ${heaviest}; ` +
        `it must be more than ${heaviest}`,
    });
  }
  const needed = portsBelowThreshold(p);
  if (p.maxPorts < needed) {
    problems.push({
      options: ['scan-weight-threshold', 'max-ports'],
      text: `--scan-weight-threshold ${p.scanWeightThreshold} needs room for ${needed} ports, but --max-ports is ${p.maxPorts}`,
    });
  }
  return problems;
}
