// scanlogd-notify's command line and configuration file. Tokens, passwords and the
// channels' URLs (a webhook or ntfy topic URL is often the secret itself) are keys of
// the file only: a command line is readable by every local user (ps, /proc).

import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, parseConfig, readConfigFile } from '../shared/config.js';
import { StartupError } from '../shared/errors.js';
import { VERSION } from '../shared/version.js';

export const DEFAULT_NOTIFY_CONFIG = '/etc/scanlogd-notify.conf';
export const DEFAULT_EVENTS = '/var/log/scanlogd/events.json';
export const DEFAULT_STATE = '/var/lib/scanlogd-notify/position';
export const PUSHOVER_URL = 'https://api.pushover.net/1/messages.json';

/** Keys that hold a secret: accepted from the configuration file, refused on the command line. */
export const SECRET_KEYS = ['pushover-token', 'pushover-user', 'ntfy-token', 'ntfy-password', 'webhook', 'ntfy-url'] as const;

export type ChannelConfig =
  | { kind: 'pushover'; url: string; token: string; user: string; priority: number | null }
  | { kind: 'ntfy'; url: string; token: string | null; user: string | null; password: string | null; priority: number | null }
  | { kind: 'webhook'; url: string }
  | { kind: 'mail'; to: string; from: string | null; sendmail: string };

export interface NotifySettings {
  events: string;
  state: string;
  /** The file read, or null when the default one is absent. */
  config: string | null;
  channels: ChannelConfig[];
  /** At most one message per channel this often. */
  intervalMs: number;
  /** How long the first event waits for others to join its message. */
  waitMs: number;
  /** One delivery attempt at most this long. */
  timeoutMs: number;
  /** Events still undelivered after this long are dropped, counted and reported. */
  giveUpMs: number;
  pollMs: number;
  /** Also report problems to this syslog socket (for init systems that drop stderr). */
  syslogSocket: string | null;
  hostname: string | null;
  /** What to do: follow the events file, check the set-up, or send one test message per channel. */
  mode: 'run' | 'check' | 'test';
}

/** Seconds with up to millisecond precision, within [min, max], returned in milliseconds. */
function seconds(min: number, max: number) {
  return (text: string): number => {
    const ms = Math.round(Number(text) * 1000);
    if (!/^\d+(\.\d{1,3})?$/.test(text) || ms < min * 1000 || ms > max * 1000) {
      throw new InvalidArgumentError(`must be a number of seconds from ${min} to ${max}.`);
    }
    return ms;
  };
}

function secondsOption(flags: string, description: string, min: number, max: number, byDefault: number): Option {
  return new Option(flags, description).argParser(seconds(min, max)).default(byDefault * 1000, String(byDefault));
}

function absolutePath(text: string): string {
  if (!text.startsWith('/')) throw new InvalidArgumentError('must be an absolute path.');
  return text;
}

function httpUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('is not a URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError('must be an http: or https: URL.');
  // A password in a URL travels into every error message about it; each channel has keys for its credentials.
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(
      'must not hold a user name or password (user:password@): use the ntfy-user and ntfy-password keys, or a token.',
    );
  }
  return text;
}

/**
 * A token or key of a documented shape. A value of another shape is a copying mistake
 * (a quote, a space, half a key), said at start rather than by a refusal at the first scan.
 */
function tokenOf(shape: RegExp, description: string) {
  return (text: string): string => {
    if (!shape.test(text)) throw new InvalidArgumentError(`must be ${description}.`);
    return text;
  };
}

/** Pushover's application tokens and user (or group) keys: 30 letters and digits. */
const pushoverKey = tokenOf(/^[A-Za-z0-9]{30}$/, '30 letters and digits, as Pushover shows it');
/** ntfy's access tokens: "tk_" and 29 letters and digits. */
const ntfyToken = tokenOf(/^tk_[A-Za-z0-9]{29}$/, 'tk_ and 29 letters and digits, as ntfy shows it');

/** Pushover's and ntfy's scales differ; each key says its own range. */
function priority(min: number, max: number) {
  return (text: string): number => {
    if (!/^-?\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    }
    return Number(text);
  };
}

function mailAddress(text: string): string {
  // One address, never a header: a newline would let the value add headers of its own.
  if (!/^[^\s<>@,;]+@[^\s<>@,;]+$/.test(text)) throw new InvalidArgumentError('must be one address, like root@localhost.');
  return text;
}

/** Text that goes into messages or headers: one line of printable characters. */
function printableLine(text: string): string {
  if (/[^\x20-\x7e\u00a0-\uffff]/.test(text)) throw new InvalidArgumentError('must be one line without control characters.');
  return text;
}

/**
 * The options; with `secrets`, also the keys only the configuration file may set (the
 * program the file is parsed against).
 */
export function buildNotifyProgram(secrets = false): Command {
  const program = new Command('scanlogd-notify');
  program
    .description("Follow scanlogd's --json events file and tell a person: Pushover, ntfy, a JSON webhook, mail.")
    .version(VERSION, '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .option('--events <path>', "scanlogd's --json file to follow", absolutePath, DEFAULT_EVENTS)
    .option('--state <path>', 'where the position reached is kept (its directory must be writable)', absolutePath, DEFAULT_STATE)
    .addOption(new Option('--config <path>', `configuration file (default: ${DEFAULT_NOTIFY_CONFIG}, if present)`).argParser(absolutePath))
    .option(
      '--pushover-url <url>',
      'Pushover API endpoint (the token and user key are read from the configuration file)',
      httpUrl,
      PUSHOVER_URL,
    )
    .option('--pushover-priority <n>', 'Pushover priority, -2 to 1', priority(-2, 1))
    .option('--ntfy-priority <n>', 'ntfy priority, 1 to 5', priority(1, 5))
    .option('--ntfy-user <name>', 'ntfy user for basic authentication (the password is read from the configuration file)', printableLine)
    .option('--mail-to <address>', 'mail each message to this address through sendmail', mailAddress)
    .option('--mail-from <address>', 'sender of the mail (default: chosen by sendmail)', mailAddress)
    .option('--sendmail <path>', 'the sendmail program', absolutePath, '/usr/sbin/sendmail')
    .addOption(secondsOption('--interval <seconds>', 'at most one message per channel this often', 1, 86400, 60))
    .addOption(secondsOption('--wait <seconds>', 'how long the first event waits for others to join its message', 0, 3600, 5))
    .addOption(secondsOption('--timeout <seconds>', 'longest time one delivery attempt may take', 1, 600, 15))
    .addOption(
      secondsOption('--give-up <seconds>', 'events not delivered after this long are dropped, counted and reported', 10, 7 * 86400, 86400),
    )
    .option('--hostname <name>', "host name shown in messages (default: this host's)", printableLine)
    .option('--syslog', 'also report delivery problems to syslog (daemon.err), for init systems that drop standard error', false)
    .option('--syslog-socket <path>', 'syslog socket for --syslog', absolutePath, '/dev/log')
    .option(
      '--check',
      "check the configuration, the events file and the state directory (as the notifier's user), say which channels it sets up, and exit",
      false,
    )
    .option('--test', 'send one test message through each channel, say which accepted it, and exit (non-zero if one did not)', false)
    .addOption(new Option('--poll <seconds>').argParser(seconds(0.05, 60)).default(500).hideHelp())
    .showHelpAfterError(false)
    .allowExcessArguments(false);
  if (secrets) {
    program
      .option('--webhook <url>', 'POST each message as JSON to this URL', httpUrl)
      .option('--ntfy-url <url>', 'ntfy topic URL, e.g. https://ntfy.sh/TOPIC', httpUrl)
      .option('--pushover-token <token>', 'Pushover application token', pushoverKey)
      .option('--pushover-user <key>', 'Pushover user or group key', pushoverKey)
      .option('--ntfy-token <token>', 'ntfy access token (Authorization: Bearer)', ntfyToken)
      .option('--ntfy-password <password>', 'ntfy password for --ntfy-user', printableLine);
  }
  return program;
}

interface RawNotifyOptions {
  events: string;
  state: string;
  config?: string;
  webhook?: string;
  pushoverUrl: string;
  pushoverPriority?: number;
  pushoverToken?: string;
  pushoverUser?: string;
  ntfyUrl?: string;
  ntfyPriority?: number;
  ntfyUser?: string;
  ntfyToken?: string;
  ntfyPassword?: string;
  mailTo?: string;
  mailFrom?: string;
  sendmail: string;
  interval: number;
  wait: number;
  timeout: number;
  giveUp: number;
  hostname?: string;
  syslog: boolean;
  syslogSocket: string;
  check: boolean;
  test: boolean;
  poll: number;
}

/** A secret on the command line is refused before anything is parsed. */
function refuseSecretArguments(argv: readonly string[]): void {
  for (const arg of argv) {
    const key = /^--([a-z-]+)(=|$)/.exec(arg)?.[1];
    if (key !== undefined && (SECRET_KEYS as readonly string[]).includes(key)) {
      throw new StartupError(
        `--${key} is refused on the command line, where any local user can read it; set "${key} = ..." in the configuration file (root-owned, not readable by others)`,
      );
    }
  }
}

/** The channels the options set up, each checked for the keys it needs. */
function channelsOf(o: RawNotifyOptions, file: string): ChannelConfig[] {
  const channels: ChannelConfig[] = [];
  if (o.pushoverToken !== undefined || o.pushoverUser !== undefined) {
    if (o.pushoverToken === undefined || o.pushoverUser === undefined) {
      throw new ConfigError(`${file}: Pushover needs both pushover-token and pushover-user`);
    }
    channels.push({
      kind: 'pushover',
      url: o.pushoverUrl,
      token: o.pushoverToken,
      user: o.pushoverUser,
      priority: o.pushoverPriority ?? null,
    });
  }
  if (o.ntfyUrl !== undefined) {
    if ((o.ntfyUser === undefined) !== (o.ntfyPassword === undefined)) {
      throw new ConfigError(`${file}: ntfy basic authentication needs both ntfy-user and ntfy-password`);
    }
    if (o.ntfyToken !== undefined && o.ntfyUser !== undefined) {
      throw new ConfigError(`${file}: set ntfy-token or ntfy-user and ntfy-password, not both`);
    }
    channels.push({
      kind: 'ntfy',
      url: o.ntfyUrl,
      token: o.ntfyToken ?? null,
      user: o.ntfyUser ?? null,
      password: o.ntfyPassword ?? null,
      priority: o.ntfyPriority ?? null,
    });
  } else if (o.ntfyToken !== undefined || o.ntfyUser !== undefined) {
    throw new ConfigError(`${file}: ntfy credentials are set but ntfy-url is not`);
  }
  if (o.webhook !== undefined) channels.push({ kind: 'webhook', url: o.webhook });
  if (o.mailTo !== undefined) channels.push({ kind: 'mail', to: o.mailTo, from: o.mailFrom ?? null, sendmail: o.sendmail });
  return channels;
}

/**
 * Parses argv (without node and script), then the configuration file; the command
 * line wins. Throws a StartupError (or ConfigError) with one line for any problem,
 * no channel configured included.
 */
export function parseNotifySettings(argv: readonly string[], configPath = DEFAULT_NOTIFY_CONFIG): NotifySettings {
  refuseSecretArguments(argv);
  const program = buildNotifyProgram();
  program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 1);
  });
  program.parse(argv, { from: 'user' });
  const named = program.opts<RawNotifyOptions>().config;
  const file = named ?? configPath;
  const text = readConfigFile(file, named !== undefined, true);
  const merged: Record<string, unknown> = { ...program.opts() };
  if (text !== null) {
    for (const v of parseConfig(text, file, buildNotifyProgram(true), SECRET_KEYS).values()) {
      if (program.getOptionValueSource(v.attribute) !== 'cli') merged[v.attribute] = v.value;
    }
  }
  const o = merged as unknown as RawNotifyOptions;
  if (o.check && o.test) throw new StartupError('--check and --test: give one of them');
  const channels = channelsOf(o, file);
  if (channels.length === 0) {
    throw new ConfigError(
      `no channel configured: set pushover-token and pushover-user, ntfy-url, webhook or mail-to in ${file}` +
        (text === null ? ' (there is no such file)' : ''),
    );
  }
  if (o.giveUp <= o.interval + o.wait) {
    throw new ConfigError(
      `give-up (${o.giveUp / 1000} s) must be longer than interval plus wait (${(o.interval + o.wait) / 1000} s): events would be dropped before their first attempt`,
    );
  }
  return {
    events: o.events,
    state: o.state,
    config: text === null ? null : file,
    channels,
    intervalMs: o.interval,
    waitMs: o.wait,
    timeoutMs: o.timeout,
    giveUpMs: o.giveUp,
    pollMs: o.poll,
    syslogSocket: o.syslog ? o.syslogSocket : null,
    hostname: o.hostname ?? null,
    mode: o.check ? 'check' : o.test ? 'test' : 'run',
  };
}

/** A channel as a person reads it in --check and in messages on stderr: of a URL, only scheme, host and port. */
export function channelName(c: ChannelConfig): string {
  return c.kind === 'mail' ? `mail (${c.to})` : `${c.kind} (${new URL(c.url).origin})`;
}
