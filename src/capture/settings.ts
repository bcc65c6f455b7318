// The settings of a start, as the capture process works them out from the option
// table: the command line (commander), then the configuration file, then the preset,
// then the defaults, each value remembered with where it came from, so that values
// that do not fit together are blamed on the file and line that set them.

import { Command, InvalidArgumentError, Option } from 'commander';
import { derivedThreshold, portsBelowThreshold, type DetectorParams, type Problem } from '../shared/params.js';
import { formatCidr, isCidr6 } from '../shared/networks.js';
import { ConfigError, configKeys, markCommandLineOnly, markRepeatable, parseConfig, readConfigFile } from '../shared/config.js';
import {
  DEFAULT_CONFIG_PATH,
  OPTION_NAMES,
  checkParams,
  defaultValues,
  detectorParams,
  longName,
  optionNamed,
  specOf,
  type OptionName,
  type OptionValues,
  type Spec,
} from '../shared/options.js';
import { presetValues } from '../shared/presets.js';
import { VERSION, VERSION_LINE } from '../shared/version.js';

/** The settings of the capture process: every option's value, and the detector's parameters derived from them. */
export interface Settings extends OptionValues {
  params: DetectorParams;
}

/** Where a value came from: the command line, a line of the configuration file, a preset, or the default. */
export type Source =
  { from: 'command line' } | { from: 'file'; file: string; line: number } | { from: 'preset'; name: string } | { from: 'default' };

/** What --help says after an option's own words: its choices and its default. */
function helpOf(spec: Spec): string {
  const notes: string[] = [];
  if (spec.kind !== 'switch' && 'choices' in spec.type) notes.push(`choices: ${(spec.type.choices as string[]).join(', ')}`);
  if (spec.kind === 'value' && (spec.default !== null || spec.defaultText !== undefined)) {
    notes.push(`default: ${spec.defaultText ?? spec.type.format(spec.default)}`);
  }
  return notes.length === 0 ? spec.help : `${spec.help} (${notes.join('; ')})`;
}

/** The commander option for one entry of the table. */
function commanderOption(name: OptionName): Option {
  const spec = specOf(name);
  const flags = `${spec.short === undefined ? '' : `${spec.short}, `}--${longName(name)}${spec.kind === 'switch' ? '' : ` ${spec.arg}`}`;
  const option = new Option(flags, helpOf(spec));
  if (spec.hidden === true) option.hideHelp();
  if (spec.commandLineOnly === true) markCommandLineOnly(option);
  if (spec.kind === 'value') option.argParser((text: string) => spec.type.parse(text));
  if (spec.kind === 'list') {
    markRepeatable(option);
    option.argParser((text: string, previous: unknown[] | undefined): unknown[] => {
      const entries = previous ?? [];
      const entry = spec.type.parse(text);
      if (entries.length >= spec.max) throw new InvalidArgumentError(`is one ${spec.noun} too many: at most ${spec.max} are allowed.`);
      return [...entries, entry];
    });
  }
  return option;
}

export function buildProgram(): Command {
  const program = new Command('scanlogd');
  program
    .description('Detect TCP and UDP port scans and log one line per scan to syslog.')
    .version(VERSION_LINE, '-V, --version')
    .helpOption('-h, --help', 'show this help');
  for (const name of OPTION_NAMES) program.addOption(commanderOption(name));
  return (
    program
      .addHelpText(
        'after',
        '\nCapture: by default a raw socket sees TCP packets after the host firewall accepted\n' +
          'them, as scanlogd does; scans of ports the firewall drops go unseen. --interface\n' +
          'uses libpcap on that device instead and sees them before the firewall, with a\n' +
          "kernel filter that passes no pure ACK or PSH+ACK segment (so ACKs to a scanner's\n" +
          'ports never change its flags, as they can on the raw socket).\n' +
          '\nSeconds take up to three decimals. Threshold defaults are those of the classic preset\n' +
          '(scanlogd 2.2.8); sensitive and relaxed are described in scanlogd(8). The command line\n' +
          'overrides the configuration file, which overrides the preset. Without --foreground the\n' +
          'command returns once the daemon runs (exit 0) or with the reason it could not start (exit 1).',
      )
      .showHelpAfterError(false)
      // Every error of the daemon in one voice: "scanlogd: " first, as the start-up's own.
      .configureOutput({ outputError: (text, write) => write(`scanlogd: ${text.replace(/^error: /, '')}`) })
      .allowExcessArguments(false)
  );
}

/** The values and where each came from, once the command line, the file, the preset and the defaults are applied. */
export interface Resolved {
  values: OptionValues;
  sources: Map<OptionName, Source>;
  /** The configuration file read, or null. */
  file: string | null;
}

function resolve(program: Command, configPath: string): Resolved {
  const values = defaultValues() as Record<OptionName, unknown>;
  const sources = new Map<OptionName, Source>();
  const given = program.opts<Record<string, unknown>>();
  for (const name of OPTION_NAMES) {
    if (program.getOptionValueSource(name) !== 'cli') continue;
    values[name] = given[name];
    sources.set(name, { from: 'command line' });
  }
  const file = (values.config as string | null) ?? configPath;
  const text = readConfigFile(file, values.config !== null);
  if (text !== null) {
    // A list given on the command line replaces the file's rather than extending it.
    for (const v of parseConfig(text, file, program).values()) {
      const name = v.attribute as OptionName;
      if (sources.has(name)) continue;
      values[name] = v.value;
      sources.set(name, { from: 'file', file, line: v.line });
    }
  }
  const preset = values.preset as OptionValues['preset'];
  for (const [key, presetText] of Object.entries(presetValues(preset))) {
    const name = optionNamed(key);
    const spec = name === undefined ? undefined : specOf(name);
    if (name === undefined || spec?.kind !== 'value') throw new Error(`preset ${preset} names ${key}, which is not an option with a value`);
    if (sources.has(name)) continue;
    values[name] = spec.type.parse(presetText);
    sources.set(name, { from: 'preset', name: preset });
  }
  for (const name of OPTION_NAMES) if (!sources.has(name)) sources.set(name, { from: 'default' });
  const v = values as OptionValues;
  // scanlogd's derived params, unless given.
  v.scanWeightThreshold ??= derivedThreshold(v.scanMinCount, v.portWeightPriv);
  v.maxPorts ??= portsBelowThreshold(v);
  return { values: v, sources, file: text === null ? null : file };
}

/** What does not fit among the options the capture process reads, each naming its options. */
function captureProblems(v: OptionValues): Problem[] {
  const problems: Problem[] = [];
  if (v.promisc && v.interface === null) problems.push({ options: ['promisc', 'interface'], text: '--promisc needs --interface' });
  if (v.ephemeralPorts !== null && !v.udp) problems.push({ options: ['ephemeral-ports', 'udp'], text: '--ephemeral-ports needs --udp' });
  const ipv6Source = v.ignoreSource.find(isCidr6);
  if (ipv6Source !== undefined && !v.ipv6) {
    problems.push({
      options: ['ignore-source', 'ipv6'],
      text: `--ignore-source ${formatCidr(ipv6Source)} is an IPv6 network; IPv6 is watched only with --ipv6`,
    });
  }
  if (v.json === '-' && !v.foreground) {
    problems.push({
      options: ['json', 'foreground'],
      text: '--json - writes to standard output, which the daemon gives up when it detaches; add --foreground',
    });
  }
  return problems;
}

/** The line of the configuration file that set one of the options `problem` names, the first named first. */
function fileLine(problem: Problem, resolved: Resolved): string | null {
  for (const long of problem.options) {
    const name = optionNamed(long);
    const source = name === undefined ? undefined : resolved.sources.get(name);
    if (source?.from === 'file') return `${source.file}:${source.line}`;
  }
  return null;
}

/** The settings of a start, and where each value came from (for a check mode to print). */
export interface SettingsWithSources extends Resolved {
  settings: Settings;
}

/**
 * Parses argv (without node and script); commander prints command-line errors and
 * exits 1. Then reads the configuration file (`configPath` unless --config names
 * another) and applies the preset. Values that do not fit together are a ConfigError
 * naming the file and line when the file set one of them, else a command-line error.
 */
export function resolveSettings(
  argv: readonly string[],
  program: Command = buildProgram(),
  configPath = DEFAULT_CONFIG_PATH,
): SettingsWithSources {
  program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 1);
  });
  program.parse(argv, { from: 'user' });
  const resolved = resolve(program, configPath);
  const params = detectorParams(resolved.values);
  const problems = [...captureProblems(resolved.values), ...checkParams(params)];
  for (const problem of problems) {
    const where = fileLine(problem, resolved);
    if (where !== null) throw new ConfigError(`${where}: ${problem.text}`);
  }
  if (problems.length > 0) program.error(problems.map((p) => p.text).join('; '), { exitCode: 1 });
  return { ...resolved, settings: { ...resolved.values, params } };
}

/** The settings alone: what a start runs with. */
export function parseSettings(argv: readonly string[], program: Command = buildProgram(), configPath = DEFAULT_CONFIG_PATH): Settings {
  return resolveSettings(argv, program, configPath).settings;
}

/** The file and line that set an option, or null when the file did not set it. */
export function blameOf(resolved: Resolved): (name: OptionName) => string | null {
  return (name) => {
    const source = resolved.sources.get(name);
    return source?.from === 'file' ? `${source.file}:${source.line}` : null;
  };
}

/** Where a value came from, as a comment of --print-config: null for a default. */
function sourceText(source: Source | undefined): string | null {
  if (source === undefined || source.from === 'default') return null;
  if (source.from === 'file') return `${source.file}:${source.line}`;
  if (source.from === 'preset') return `preset ${source.name}`;
  return source.from;
}

/**
 * The settings as a configuration file that gives them back: every key a file may
 * set, after a comment saying where its value came from unless it is the default. A
 * value that is not set is a comment.
 */
export function configText(resolved: Resolved, program: Command): string {
  const lines = [
    `# The settings of scanlogd-ts ${VERSION}, from the command line, ${resolved.file ?? 'no configuration file'}, the preset and the defaults.`,
  ];
  for (const key of configKeys(program).keys()) {
    const name = optionNamed(key);
    if (name === undefined) continue;
    const spec = specOf(name);
    const value: unknown = resolved.values[name];
    const from = sourceText(resolved.sources.get(name));
    if (from !== null) lines.push(`# ${key}: from ${from}`);
    if (spec.kind === 'switch') lines.push(`${key} = ${value === true ? 'yes' : 'no'}`);
    else if (spec.kind === 'list') {
      const entries = value as unknown[];
      if (entries.length === 0) lines.push(`#${key} =`);
      for (const entry of entries) lines.push(`${key} = ${spec.type.format(entry)}`);
    } else if (value === null) lines.push(`#${key} =`);
    else lines.push(`${key} = ${spec.type.format(value)}`);
  }
  return `${lines.join('\n')}\n`;
}
