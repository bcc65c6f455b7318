// npm run eval: every scenario through the daemon's detection (scanlogd's rules, its
// sensitive preset, and the second stage of --slow-scans) and through the anchors'
// published rules, on a simulated clock: a day of traffic takes seconds. Prints one
// table per group of scenarios, then every false positive with what was said.
//
//   npm run eval                    the tables (Markdown)
//   npm run eval -- --only v-tcp-T0,b-nat   some scenarios
//   npm run eval -- --sweep-params  the second stage's thresholds against the scenarios

import { addressText } from '../src/monitor/addresses.js';
import { parseSettings } from '../src/capture/settings.js';
import type { DetectorParams } from '../src/shared/params.js';
import { ANCHORS, type Anchor } from './anchors.js';
import type { Packet } from './model.js';
import { runOurs, type Reported } from './ours.js';
import { scenarios, type Scenario } from './scenarios.js';
import { topPorts } from './model.js';

/** What one detector did on one scenario. */
interface Verdict {
  /** The scanner's first report: time after its first probe, probes the daemon saw until then, of them to closed ports. */
  caught: { after: number; probes: number; closed: number; by?: string } | null;
  /** Reports that named another source (in a benign scenario, every report). */
  falsePositives: Array<{ source: string; text: string }>;
}

interface Column {
  name: string;
  run(
    s: Scenario,
    events: ReturnType<ReturnType<Scenario['build']>['sorted']>,
  ): Array<{ t: number; source: string; text: string; by?: string }>;
}

/** Sources listed per false positive of a detector on a scenario. */
const FALSE_POSITIVES_SHOWN = 3;

/** Settings as the daemon would resolve them from `argv` (no configuration file). */
const paramsOf = (argv: string[]): DetectorParams => parseSettings(argv, undefined, '/nonexistent/scanlogd.conf').params;

/** The anchors that read a host firewall's log see nothing a gateway forwards. */
const FIREWALL_BASED = new Set(['psad (danger level 1)', 'CrowdSec multi_ports']);

function anchorColumn(make: () => Anchor): Column {
  const name = make().name;
  return {
    name,
    run(s, events) {
      const anchor = make();
      const out: Array<{ t: number; source: string; text: string }> = [];
      if (s.vantage.startsWith('gateway') && FIREWALL_BASED.has(name)) return out;
      for (const e of events) {
        if (e.kind !== 'packet') continue;
        const alert = anchor.feed(e.packet);
        if (alert !== null) out.push({ t: alert.t, source: alert.source, text: `${alert.what} from ${alert.source}` });
      }
      return out;
    },
  };
}

function oursColumn(name: string, argv: string[], slowScans: boolean): Column {
  const params = paramsOf(argv);
  return {
    name,
    run: (s, events) => runOurs(s, events, params, slowScans).map((r: Reported) => ({ ...r, by: r.by })),
  };
}

function columns(stageArgs: string[]): Column[] {
  return [
    oursColumn('scanlogd 2.2.8', [], false),
    oursColumn('--preset sensitive', ['--preset', 'sensitive'], false),
    oursColumn('--slow-scans', ['--slow-scans', ...stageArgs], true),
    ...ANCHORS.map(anchorColumn),
  ];
}

function judge(s: Scenario, reports: Array<{ t: number; source: string; text: string; by?: string }>, probes: Packet[]): Verdict {
  const scanner = s.scanner === undefined ? null : addressText(s.scanner);
  const falsePositives = new Map<string, string>();
  let caught: Verdict['caught'] = null;
  const start = probes[0]?.t ?? 0;
  for (const r of reports) {
    if (r.source === scanner) {
      if (caught === null) {
        const seen = probes.filter((p) => p.t <= r.t);
        caught = {
          after: r.t - start,
          probes: seen.length,
          closed: seen.filter((p) => p.attempt?.outcome !== 'open').length,
          ...(r.by === undefined ? {} : { by: r.by }),
        };
      }
    } else if (!falsePositives.has(r.source)) {
      falsePositives.set(r.source, r.text);
    }
  }
  return { caught, falsePositives: [...falsePositives].map(([source, text]) => ({ source, text })) };
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3600_000).toFixed(1)} h`;
}

function cell(s: Scenario, v: Verdict): string {
  const fp = v.falsePositives.length === 0 ? '' : ` **FP ${v.falsePositives.length}**`;
  if (s.group === 'benign') return v.falsePositives.length === 0 ? '0' : `**FP ${v.falsePositives.length}**`;
  if (v.caught === null) return `missed${fp}`;
  const c = v.caught;
  const by = c.by === 'classic' ? ' (classic)' : '';
  return `${c.probes} (${c.closed} closed), ${duration(c.after)}${by}${fp}`;
}

function table(title: string, rows: Scenario[], cols: Column[], verdicts: Map<string, Verdict[]>): string {
  const head = `| ${title} | ${cols.map((c) => c.name).join(' | ')} |`;
  const rule = `|${' --- |'.repeat(cols.length + 1)}`;
  const body = rows.map((s) => `| ${s.title} | ${(verdicts.get(s.id) ?? []).map((v) => cell(s, v)).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

interface Options {
  only: string[] | null;
  stageArgs: string[];
  sweepParams: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { only: null, stageArgs: [], sweepParams: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = (argv[++i] ?? '').split(',');
    else if (a === '--sweep-params') o.sweepParams = true;
    else if (a === '--') continue;
    // Anything else is a daemon option for the --slow-scans column.
    else if (a !== undefined) o.stageArgs.push(a);
  }
  return o;
}

/** Runs `cols` on `list`; returns each scenario's verdicts, by column. */
function evaluate(list: Scenario[], cols: Column[]): Map<string, Verdict[]> {
  const verdicts = new Map<string, Verdict[]>();
  for (const s of list) {
    const events = s.build().sorted();
    const probes = events.flatMap((e) => (e.kind === 'packet' && e.packet.scanner === true ? [e.packet] : []));
    verdicts.set(
      s.id,
      cols.map((c) => judge(s, c.run(s, events), probes)),
    );
  }
  return verdicts;
}

/**
 * The second stage's thresholds against every scenario: for each setting, the most
 * closed probes a -T0 or -T1 vertical scan needed, the most hosts a -T0 or -T1 sweep
 * needed, the scans missed and the false positives. How the defaults were chosen.
 */
function sweepParams(list: Scenario[]): void {
  const settings: string[][] = [
    ...[3, 4, 5, 6, 7, 8].map((n) => ['--slow-threshold', String(n)]),
    ...[3, 4, 6].map((n) => ['--sweep-threshold', String(n)]),
    ['--slow-expiry', '3600'],
    ['--slow-threshold', '5', '--slow-expiry', '3600'],
  ];
  const out = [
    '| options (beside --slow-scans) | worst -T0/-T1 vertical (closed probes) | worst -T0/-T1 sweep (hosts) | missed | false positives |',
    '|---|---|---|---|---|',
  ];
  for (const args of settings) {
    const col = oursColumn('--slow-scans', ['--slow-scans', ...args], true);
    const verdicts = evaluate(list, [col]);
    let vertical = 0;
    let sweep = 0;
    let missed = 0;
    const fps: string[] = [];
    for (const s of list) {
      const v = (verdicts.get(s.id) ?? [])[0] as Verdict;
      fps.push(...v.falsePositives.map((fp) => s.id + ': ' + fp.source));
      if (s.group === 'benign') continue;
      if (v.caught === null) missed++;
      else if (/-T[01]$/.test(s.id) && s.group === 'vertical') vertical = Math.max(vertical, v.caught.closed);
      else if (/-T[01]$/.test(s.id) && s.group === 'sweep') sweep = Math.max(sweep, v.caught.probes);
    }
    out.push(`| ${args.join(' ')} | ${vertical} | ${sweep} | ${missed} | ${fps.length === 0 ? 0 : `${fps.length} (${fps.join(', ')})`} |`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const all = scenarios();
  const list = options.only === null ? all : all.filter((s) => options.only?.includes(s.id));
  if (options.sweepParams) {
    sweepParams(list);
    return;
  }
  const cols = columns(options.stageArgs);
  const started = Date.now();
  const verdicts = evaluate(list, cols);
  const groups: Array<[Scenario['group'], string]> = [
    ['vertical', 'Vertical scan (probes seen (to closed ports), time to the report)'],
    ['sweep', 'Sweep (probes seen (to closed or silent), time to the report)'],
    ['benign', 'Benign traffic (false positives)'],
  ];
  const out: string[] = [];
  for (const [group, title] of groups) {
    const rows = list.filter((s) => s.group === group);
    if (rows.length > 0) out.push(table(title, rows, cols, verdicts), '');
  }
  const fps: string[] = [];
  for (const s of list) {
    (verdicts.get(s.id) ?? []).forEach((v, i) => {
      if (v.falsePositives.length === 0) return;
      const shown = v.falsePositives.slice(0, FALSE_POSITIVES_SHOWN).map((fp) => `  - ${fp.text}`);
      const more = v.falsePositives.length - shown.length;
      fps.push(
        `- ${s.title}, ${cols[i]?.name}: ${v.falsePositives.length} sources`,
        ...shown,
        ...(more > 0 ? [`  - and ${more} more`] : []),
      );
    });
  }
  out.push(fps.length === 0 ? 'No false positives.' : `False positives (the first report of each source):\n${fps.join('\n')}`);
  out.push('', `Port order: ${topPorts('tcp', 1000).source}. ${list.length} scenarios in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
