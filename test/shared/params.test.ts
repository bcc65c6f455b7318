// The detector's tunables: scanlogd's defaults, and which combinations checkParams
// refuses (and with what words).

import test from 'ava';
import { DEFAULT_PARAMS, portsBelowThreshold, type DetectorParams } from '../../src/shared/params.js';
import { OPTIONS, checkParams as checkProblems, longName, specOf, OPTION_NAMES } from '../../src/shared/options.js';

/** The words of each problem. */
const checkParams = (p: DetectorParams): string[] => checkProblems(p).map((problem) => problem.text);

const withParams = (change: Partial<DetectorParams>): DetectorParams => ({ ...DEFAULT_PARAMS, ...change });

test('the defaults are scanlogd 2.2.8 params.h', (t) => {
  t.deepEqual(
    { ...DEFAULT_PARAMS },
    {
      portWeightPriv: 3,
      portWeightHigh: 1,
      scanWeightThreshold: 21,
      maxPorts: 20,
      scanDelayMs: 3000,
      logCount: 5,
      logDelayMs: 20000,
      logMaxLength: 120,
      listSize: 256,
      hashSize: 512,
      hashMax: 16,
      hash: 'classic',
      // The second stage's, read only with --slow-scans (scanlogd has none).
      slowFailures: 6,
      sweepHosts: 5,
      slowIdleMs: 30 * 60 * 1000,
      slowSources: 4096,
    },
  );
  t.true(Object.isFrozen(DEFAULT_PARAMS));
});

test('checkParams accepts the defaults', (t) => {
  t.deepEqual(checkParams({ ...DEFAULT_PARAMS }), []);
});

// Each field with its name in messages and its allowed range, from the option table.
const ranges: Array<[keyof DetectorParams, string, number, number]> = OPTION_NAMES.flatMap((name) => {
  const spec = specOf(name);
  if (spec.kind !== 'value' || spec.param === undefined || spec.type.range === undefined) return [];
  const unit = spec.type.unit === undefined ? '' : ` (${spec.type.unit})`;
  return [[spec.param, `--${longName(name)}${unit}`, ...spec.type.range]];
});

test('every numeric detector parameter has its range from an option', (t) => {
  t.deepEqual(
    ranges.map(([field]) => field),
    [
      'portWeightPriv',
      'portWeightHigh',
      'scanWeightThreshold',
      'maxPorts',
      'scanDelayMs',
      'logCount',
      'logDelayMs',
      'logMaxLength',
      'listSize',
      'hashSize',
      'hashMax',
      'slowFailures',
      'sweepHosts',
      'slowIdleMs',
      'slowSources',
    ],
  );
  t.deepEqual(OPTIONS.hashMax.type.range, [1, 256]);
  t.deepEqual(OPTIONS.scanDelay.type.range, [1, 0x7fffffff]);
});

for (const [field, name, min, max] of ranges) {
  const bad = new Set([0, min - 1, -5, max + 1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]);
  if (min === 0) bad.delete(0);
  for (const value of bad) {
    test(`checkParams rejects ${field} = ${value}`, (t) => {
      t.deepEqual(checkParams(withParams({ [field]: value })), [`${name} must be a whole number from ${min} to ${max}, not ${value}`]);
    });
  }
}

test('checkParams lists every field that is out of range', (t) => {
  t.deepEqual(checkParams(withParams({ logCount: 0, hashMax: -1 })), [
    '--log-count must be a whole number from 1 to 1000000, not 0',
    '--hash-max must be a whole number from 1 to 256, not -1',
  ]);
});

for (const hashSize of [3, 100, 511, 513, 1000, 65535]) {
  test(`checkParams rejects hash size ${hashSize} (not a power of two)`, (t) => {
    t.deepEqual(checkParams(withParams({ hashSize })), [`--hash-size must be a power of two, not ${hashSize}`]);
  });
}

for (const hashSize of [2, 256, 512, 1024, 65536]) {
  test(`checkParams accepts hash size ${hashSize}`, (t) => {
    t.deepEqual(checkParams(withParams({ hashSize })), []);
  });
}

test('checkParams rejects a port list too short for the ports below the threshold', (t) => {
  t.deepEqual(checkParams(withParams({ maxPorts: 19 })), ['--scan-weight-threshold 21 needs room for 20 ports, but --max-ports is 19']);
  t.deepEqual(checkParams(withParams({ scanWeightThreshold: 50, maxPorts: 10 })), [
    '--scan-weight-threshold 50 needs room for 49 ports, but --max-ports is 10',
  ]);
  t.deepEqual(checkParams(withParams({ portWeightHigh: 2, maxPorts: 9 })), [
    '--scan-weight-threshold 21 needs room for 10 ports, but --max-ports is 9',
  ]);
});

test('checkParams accepts a port list exactly as long as needed, or longer', (t) => {
  t.deepEqual(checkParams(withParams({ maxPorts: 20 })), []);
  t.deepEqual(checkParams(withParams({ maxPorts: 100 })), []);
  t.deepEqual(checkParams(withParams({ portWeightHigh: 2, maxPorts: 10 })), []);
});

// [priv, high, threshold] -> ports a source can send and stay below the threshold.
const below: Array<[number, number, number, number]> = [
  [3, 1, 21, 20],
  [3, 3, 21, 6],
  [4, 4, 21, 5],
  [5, 2, 20, 9],
  [1, 3, 10, 9],
  [3, 1, 1, 0],
  [1, 1, 1, 0],
  [1000, 1000, 100000, 99],
];

for (const [portWeightPriv, portWeightHigh, scanWeightThreshold, expected] of below) {
  test(`portsBelowThreshold(priv ${portWeightPriv}, high ${portWeightHigh}, threshold ${scanWeightThreshold}) = ${expected}`, (t) => {
    t.is(portsBelowThreshold({ portWeightPriv, portWeightHigh, scanWeightThreshold }), expected);
    // The lightest port, sent `expected` times, stays below; once more reaches it.
    const lightest = Math.min(portWeightPriv, portWeightHigh);
    t.true(expected * lightest < scanWeightThreshold);
    t.true((expected + 1) * lightest >= scanWeightThreshold);
  });
}

test("portsBelowThreshold of the defaults is scanlogd's port list size", (t) => {
  t.is(portsBelowThreshold(DEFAULT_PARAMS), 20);
});
