// The kinds of value an option takes, each with its parser (the range check included),
// its printer (the text the parser reads back) and its range where it has one. The
// daemon's option table and scanlogd-notify's options are both built from these.

import { InvalidArgumentError } from 'commander';

/** How an option's text becomes its value and back. */
export interface ValueType<T> {
  /** Throws commander's InvalidArgumentError, whose message completes "argument 'X' is invalid.". */
  parse(text: string): T;
  /** The text `parse` reads back as the same value. */
  format(value: T): string;
  /** The smallest and largest value, for numbers (in the unit `parse` returns). */
  readonly range?: readonly [number, number];
  /** That unit, when it is not the one the text is written in. */
  readonly unit?: string;
}

/** A whole number from `min` to `max`, written in decimal without a sign. */
export function wholeNumber(min: number, max: number): ValueType<number> {
  const refuse = (): never => {
    throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
  };
  return {
    parse: (text) => {
      if (!/^\d+$/.test(text)) refuse();
      const n = Number(text);
      return n < min || n > max ? refuse() : n;
    },
    format: String,
    range: [min, max],
  };
}

/**
 * Seconds with up to three decimals, from `minMs` to `maxMs` milliseconds, read as
 * milliseconds: scanlogd's thresholds are whole seconds, timers here are milliseconds.
 */
export function seconds(minMs: number, maxMs: number): ValueType<number> {
  const lower = minMs === 1 ? 'more than 0' : `at least ${minMs / 1000}`;
  return {
    parse: (text) => {
      if (!/^\d+(\.\d{1,3})?$/.test(text)) {
        throw new InvalidArgumentError(`must be a ${minMs > 0 ? 'positive ' : ''}number of seconds (up to 3 decimals).`);
      }
      const ms = Math.round(Number(text) * 1000);
      if (ms < minMs || ms > maxMs) throw new InvalidArgumentError(`must be ${lower} and at most ${maxMs / 1000} seconds.`);
      return ms;
    },
    format: (ms) => String(ms / 1000),
    range: [minMs, maxMs],
    unit: 'ms',
  };
}

/** A string the option takes as it is, once `check` accepts it. */
export function text(check: (text: string) => void): ValueType<string> {
  return {
    parse: (value) => {
      check(value);
      return value;
    },
    format: (value) => value,
  };
}

export const absolutePath = text((value) => {
  if (!value.startsWith('/')) throw new InvalidArgumentError('must be an absolute path.');
});

/** One of `choices`, refused in commander's own words. */
export function choice<T extends string>(choices: readonly T[]): ValueType<T> & { readonly choices: readonly T[] } {
  return {
    parse: (value) => {
      if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
      return value as T;
    },
    format: (value) => value,
    choices,
  };
}
