// The configuration file: which keys it accepts (every visible long option of the
// command line), how a line is parsed, and the ownership checks it must pass before
// a process running as root believes a word of it.

import fs = require('node:fs');
import path = require('node:path');
import type { Command, Option } from 'commander';
import { StartupError, syscallText } from './errors.js';
import { notRootOnly, pseudoFileSystem, unsafeDirectory } from './ownership.js';

/** A configuration of every key with a thousand list entries fits many times over. */
export const MAX_CONFIG_BYTES = 256 * 1024;

/** A start-up error caused by the configuration file; the message names file and line. */
export class ConfigError extends StartupError {}

/** Options a file may not set: the file itself, and what only --help and -V do. */
const NOT_KEYS = new Set(['config', 'help', 'version']);

const repeatableOptions = new WeakSet<Option>();
const commandLineOnlyOptions = new WeakSet<Option>();

/** Marks an option whose value is a list that each use extends (a key that may repeat). */
export function markRepeatable(option: Option): Option {
  repeatableOptions.add(option);
  return option;
}

export function isRepeatable(option: Option): boolean {
  return repeatableOptions.has(option);
}

/**
 * Marks an option that says how a process is started (in the foreground, or only to
 * check): whoever starts it decides, and a file read by every start must not change it.
 */
export function markCommandLineOnly(option: Option): Option {
  commandLineOnlyOptions.add(option);
  return option;
}

/** The keys that name a command-line-only option of `program`. */
function commandLineOnlyKeys(program: Command): Set<string> {
  const keys = new Set(['config']);
  for (const option of program.options) {
    if (commandLineOnlyOptions.has(option) && option.long !== undefined) keys.add(option.long.replace(/^--/, ''));
  }
  return keys;
}

/**
 * The keys a file accepts, by name: each long option of `program` that --help shows,
 * named without its dashes, so that every option added later is a key as well.
 */
export function configKeys(program: Command): Map<string, Option> {
  const keys = new Map<string, Option>();
  for (const option of program.options) {
    if (option.hidden || option.long === undefined) continue;
    const key = option.long.replace(/^--/, '');
    if (!NOT_KEYS.has(key) && !commandLineOnlyOptions.has(option)) keys.set(key, option);
  }
  return keys;
}

/** One key's value as the file sets it. */
export interface ConfigValue {
  key: string;
  /** commander's attribute name of the option, as in program.opts(). */
  attribute: string;
  value: unknown;
  /** The line that set it (for a repeated key, the last one). */
  line: number;
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { yes: true, true: true, no: false, false: false };

function isInvalidArgument(err: unknown): err is Error {
  return (err as { code?: unknown }).code === 'commander.invalidArgument';
}

/**
 * Parses the text of a file: `key = value` lines, blank lines, and lines whose first
 * non-blank character is `#` (a `#` after blanks in a value is refused: comments are
 * whole lines). Each value goes through its option's own parser.
 * Throws a ConfigError naming `file` and the line for the first problem (without the
 * value, for `secretKeys`).
 */
export function parseConfig(text: string, file: string, program: Command, secretKeys: readonly string[] = []): Map<string, ConfigValue> {
  const keys = configKeys(program);
  const onlyOnCommandLine = commandLineOnlyKeys(program);
  const values = new Map<string, ConfigValue>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([^\s=]+)\s*=\s*(.*)$/.exec(line);
    if (m === null) throw new ConfigError(`${where}: expected "key = value"`);
    const key = m[1] as string;
    const text = m[2] as string;
    const option = keys.get(key);
    if (option === undefined) {
      throw new ConfigError(
        onlyOnCommandLine.has(key) ? `${where}: "${key}" can only be given on the command line` : `${where}: unknown key "${key}"`,
      );
    }
    if (text === '') throw new ConfigError(`${where}: no value for "${key}"`);
    // "value # note" would otherwise be taken whole by a key that takes any text (a URL, a name).
    if (/\s#/.test(text)) throw new ConfigError(`${where}: a comment after the value of "${key}"; comments are lines of their own`);
    const attribute = option.attributeName();
    // A secret's value is not repeated in an error, which may end up in a log.
    const shown = secretKeys.includes(key) ? '' : ` "${text}"`;
    const earlier = values.get(attribute);
    const repeatable = isRepeatable(option);
    if (earlier !== undefined && !repeatable) {
      throw new ConfigError(`${where}: "${key}" is already set on line ${earlier.line}`);
    }
    let value: unknown;
    if (option.isBoolean() || option.negate) {
      const word = BOOLEAN_WORDS[text];
      if (word === undefined) throw new ConfigError(`${where}: bad value${shown} for "${key}": must be yes, no, true or false.`);
      value = option.negate ? !word : word;
    } else if (option.parseArg !== undefined) {
      try {
        value = option.parseArg(text, earlier?.value);
      } catch (err) {
        if (isInvalidArgument(err)) throw new ConfigError(`${where}: bad value${shown} for "${key}": ${err.message}`);
        throw err;
      }
    } else if (option.variadic || repeatable) {
      value = [...((earlier?.value as unknown[] | undefined) ?? []), text];
    } else {
      value = text;
    }
    values.set(attribute, { key, attribute, value, line: i + 1 });
  }
  return values;
}

/**
 * Reads a configuration file that only root can have written: the file and every
 * directory above it owned by root and writable by no one else (anyone who could
 * change it could choose the user, the chroot, or what is never logged). A file that
 * holds `secrets` must also be unreadable by others. Returns null when an optional
 * file does not exist.
 */
export function readConfigFile(file: string, required: boolean, secrets = false): string | null {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`${file}: ${syscallText(err)}`);
  }
  const pseudo = pseudoFileSystem(real);
  if (pseudo !== null) throw new ConfigError(`${file}: ${pseudo}`);
  const unsafe = unsafeDirectory(path.dirname(real));
  if (unsafe !== null) throw new ConfigError(`${file}: directory ${unsafe.dir} is ${unsafe.problem}`);
  let fd: number;
  try {
    // Not a FIFO that would block start-up, nor a link swapped in after realpath.
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new ConfigError(`${file}: ${syscallText(err)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`${file}: not a regular file`);
    const problem = notRootOnly(st);
    if (problem !== null) throw new ConfigError(`${file}: ${problem}`);
    if (secrets && (st.mode & 0o004) !== 0) {
      throw new ConfigError(
        `${file}: readable by others (mode ${(st.mode & 0o7777).toString(8)}); it holds tokens and passwords: chmod o-r`,
      );
    }
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: larger than ${MAX_CONFIG_BYTES} bytes`);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: larger than ${MAX_CONFIG_BYTES} bytes`);
    }
    return buf.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${file}: ${syscallText(err)}`, { cause: err });
  } finally {
    fs.closeSync(fd);
  }
}
