// The presets: what each sets, that an explicit option wins over it, and that each
// does what its comment promises to the detector (ports needed, the gap it forgives).

import test from 'ava';
import { buildProgram, parseSettings } from '../../src/capture/settings.js';
import { configKeys } from '../../src/shared/config.js';
import { checkParams } from '../../src/shared/options.js';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { PRESETS, PRESET_NAMES, presetValues, type PresetName } from '../../src/shared/presets.js';
import type { Summary4 } from '../../src/shared/record.js';
import { Ipv4Detector } from '../../src/monitor/engine.js';

const NO_FILE = '/nonexistent/scanlogd.conf';
const WALL_MS = 1_700_000_000_000;

const paramsOf = (args: string[]): DetectorParams => parseSettings(args, buildProgram(), NO_FILE).params;

test("each preset gives values checkParams accepts; classic is scanlogd's", (t) => {
  const expected: Record<string, Partial<DetectorParams>> = {
    classic: {},
    sensitive: { scanWeightThreshold: 12, maxPorts: 11, scanDelayMs: 20000, listSize: 1024, hashSize: 2048 },
    relaxed: { scanWeightThreshold: 36, maxPorts: 35, scanDelayMs: 2000 },
  };
  t.deepEqual(PRESET_NAMES, ['classic', 'sensitive', 'relaxed']);
  for (const name of PRESET_NAMES) {
    const params = paramsOf(['--preset', name]);
    t.deepEqual(params, { ...DEFAULT_PARAMS, ...expected[name] }, name);
    t.deepEqual(checkParams(params), [], name);
    t.is(presetValues(name), PRESETS[name]);
    // Every key a preset sets is an option a file may set too.
    for (const key of Object.keys(PRESETS[name])) t.true(configKeys(buildProgram()).has(key), `${name}: ${key}`);
  }
});

test('an option given explicitly overrides its preset value, the rest of the preset stays', (t) => {
  t.deepEqual(paramsOf(['--preset', 'sensitive', '--scan-delay', '5', '--scan-min-count', '5']), {
    ...DEFAULT_PARAMS,
    scanWeightThreshold: 15,
    maxPorts: 14,
    scanDelayMs: 5000,
    listSize: 1024,
    hashSize: 2048,
  });
  t.deepEqual(paramsOf(['--preset', 'relaxed', '--scan-weight-threshold', '30']), {
    ...DEFAULT_PARAMS,
    scanWeightThreshold: 30,
    maxPorts: 29,
    scanDelayMs: 2000,
  });
});

test('sensitive keeps two hash buckets per source, as scanlogd does', (t) => {
  const sensitive = paramsOf(['--preset', 'sensitive']);
  t.is(DEFAULT_PARAMS.hashSize / DEFAULT_PARAMS.listSize, 2);
  t.is(sensitive.hashSize / sensitive.listSize, 2);
});

/** How many SYNs from one source, to `ports` in turn `gapMs` apart, it takes to be reported (0: never). */
function packetsToReport(preset: PresetName, ports: number[], gapMs: number): number {
  const detector = new Ipv4Detector(paramsOf(['--preset', preset]));
  for (const [i, dport] of ports.entries()) {
    const time = 1000 + i * gapMs;
    const pkt: Summary4 = { saddr: 0xc6120002, daddr: 0xc6120001, sport: 40000, dport, flags: 0x02, tos: 0, ttl: 64, time };
    if (detector.process(pkt, { mono: time, wall: WALL_MS + time }) !== null) return i + 1;
  }
  return 0;
}

const privileged = (n: number): number[] => Array.from({ length: n }, (_, i) => 20 + i);
const high = (n: number): number[] => Array.from({ length: n }, (_, i) => 2000 + i);
/** The privileged services of a mail and web host, which one NAT gateway's clients may all touch within 3 s. */
const MAIL_AND_WEB = [25, 80, 110, 143, 443, 465, 587, 993, 995];

/** Preset, the ports one source probes in turn, the gap between them, and after how many SYNs it is reported (0: never). */
type Case = [PresetName, number[], number, number];

const PORTS_NEEDED: Case[] = [
  ['sensitive', privileged(4), 100, 4],
  ['sensitive', high(12), 100, 12],
  ['classic', privileged(4), 100, 0],
  ['classic', privileged(7), 100, 7],
  ['classic', high(21), 100, 21],
  ['relaxed', privileged(12), 100, 12],
  ['relaxed', high(36), 100, 36],
  // A gateway's clients on every service of a mail and web host, 300 ms apart: a scan
  // to scanlogd, not to relaxed.
  ['classic', MAIL_AND_WEB, 300, 7],
  ['relaxed', MAIL_AND_WEB, 300, 0],
];

const GAPS_FORGIVEN: Case[] = [
  ['sensitive', privileged(4), 15000, 4],
  ['sensitive', privileged(4), 20001, 0],
  ['classic', privileged(7), 15000, 0],
  ['classic', privileged(7), 3000, 7],
  ['relaxed', privileged(12), 2000, 12],
  ['relaxed', privileged(12), 2500, 0],
];

for (const [title, cases] of [
  ['the ports each preset needs: 4 privileged or 12 high (sensitive), 7 or 21 (classic), 12 or 36 (relaxed)', PORTS_NEEDED],
  ["the gap each preset forgives: nmap -T1's 15 s only with sensitive; relaxed no more than 2 s", GAPS_FORGIVEN],
] as const) {
  test(title, (t) => {
    for (const [preset, ports, gapMs, expected] of cases) {
      t.is(packetsToReport(preset, ports, gapMs), expected, `${preset}: ${ports.length} ports ${gapMs} ms apart`);
    }
  });
}
