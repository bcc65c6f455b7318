// Every tunable of the detector, with scanlogd 2.2.8's values as defaults, and the
// rules that keep a set of values meaningful. Both processes derive from this file.

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
export const SCAN_WEIGHT_THRESHOLD = SCAN_MIN_COUNT * PORT_WEIGHT_PRIV;
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
}

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

/** Returns a list of problems, each naming its option; empty when the values fit together. */
export function checkParams(p: DetectorParams): string[] {
  const problems: string[] = [];
  const whole = (option: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) {
      problems.push(`${option} must be a whole number from ${min} to ${max}, not ${v}`);
    }
  };
  whole('--port-weight-priv', p.portWeightPriv, 1, 1000);
  whole('--port-weight-high', p.portWeightHigh, 1, 1000);
  whole('--scan-weight-threshold', p.scanWeightThreshold, 1, 100000);
  whole('--max-ports', p.maxPorts, 1, MAX_MAX_PORTS);
  whole('--scan-delay (ms)', p.scanDelayMs, 1, MAX_DELAY_MS);
  whole('--log-count', p.logCount, 1, 1000000);
  whole('--log-delay (ms)', p.logDelayMs, 1, MAX_DELAY_MS);
  whole('--log-max-length', p.logMaxLength, 0, 100000);
  whole('--sources', p.listSize, 1, 65536);
  // One bucket would leave the hash nothing to shift by.
  whole('--hash-size', p.hashSize, 2, 65536);
  whole('--hash-max', p.hashMax, 1, MAX_HASH_MAX);
  if (problems.length > 0) return problems;
  if ((p.hashSize & (p.hashSize - 1)) !== 0) {
    problems.push(`--hash-size must be a power of two, not ${p.hashSize}`);
  }
  // The first packet of a source is never compared with the threshold (scanlogd adds
  // it without a check), so a threshold one port can reach would never report at all.
  const heaviest = Math.max(p.portWeightPriv, p.portWeightHigh);
  if (p.scanWeightThreshold <= heaviest) {
    problems.push(
      `--scan-weight-threshold ${p.scanWeightThreshold} is reached by a single port of weight ${heaviest}; ` +
        `it must be more than ${heaviest}`,
    );
  }
  const needed = portsBelowThreshold(p);
  if (p.maxPorts < needed) {
    problems.push(`--scan-weight-threshold ${p.scanWeightThreshold} needs room for ${needed} ports, ` + `but --max-ports is ${p.maxPorts}`);
  }
  return problems;
}
