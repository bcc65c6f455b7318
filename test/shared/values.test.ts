// The kinds of option value: each parser's range and words, and that what a printer
// writes its parser reads back (the monitor's settings and a printed configuration rely
// on it), for every option of the table.

import test from 'ava';
import { absolutePath, choice, seconds, wholeNumber } from '../../src/shared/values.js';
import { OPTION_NAMES, defaultValues, longName, specOf } from '../../src/shared/options.js';

const refusal = (parse: () => unknown): string | undefined => {
  try {
    parse();
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
};

test('wholeNumber: its range, ends included; anything else in one sentence', (t) => {
  const n = wholeNumber(2, 65536);
  t.deepEqual(n.range, [2, 65536]);
  t.is(n.parse('2'), 2);
  t.is(n.parse('65536'), 65536);
  for (const text of ['1', '65537', '-2', '2.0', ' 2', '0x10', '', '1e3']) {
    t.is(
      refusal(() => n.parse(text)),
      'must be a whole number from 2 to 65536.',
      text,
    );
  }
  t.is(n.format(512), '512');
});

test('seconds: up to three decimals, read as milliseconds; the range said in seconds', (t) => {
  const s = seconds(1, 0x7fffffff);
  t.is(s.parse('3'), 3000);
  t.is(s.parse('0.001'), 1);
  t.is(s.parse('2147483.647'), 0x7fffffff);
  t.is(s.unit, 'ms');
  t.is(
    refusal(() => s.parse('0')),
    'must be more than 0 and at most 2147483.647 seconds.',
  );
  t.is(
    refusal(() => s.parse('2147483.648')),
    'must be more than 0 and at most 2147483.647 seconds.',
  );
  t.is(
    refusal(() => s.parse('1.0001')),
    'must be a positive number of seconds (up to 3 decimals).',
  );
  t.is(
    refusal(() => s.parse('-1')),
    'must be a positive number of seconds (up to 3 decimals).',
  );
  const fromZero = seconds(0, 3600000);
  t.is(fromZero.parse('0'), 0);
  t.is(
    refusal(() => fromZero.parse('x')),
    'must be a number of seconds (up to 3 decimals).',
  );
  t.is(
    refusal(() => seconds(1000, 86400000).parse('0.5')),
    'must be at least 1 and at most 86400 seconds.',
  );
  for (const ms of [1, 250, 1500, 3000, 0x7fffffff]) t.is(s.parse(s.format(ms)), ms);
});

test('choice and absolutePath refuse in the words commander uses', (t) => {
  t.is(
    refusal(() => choice(['classic', 'keyed']).parse('siphash')),
    'Allowed choices are classic, keyed.',
  );
  t.is(
    refusal(() => absolutePath.parse('var/empty')),
    'must be an absolute path.',
  );
  t.is(absolutePath.parse('/var/empty'), '/var/empty');
});

test("every option's default, printed, reads back as itself", (t) => {
  const defaults = defaultValues();
  let compared = 0;
  for (const name of OPTION_NAMES) {
    const spec = specOf(name);
    const value = defaults[name];
    if (spec.kind !== 'value' || value === null) continue;
    t.deepEqual(spec.type.parse(spec.type.format(value)), value, longName(name));
    compared++;
  }
  t.true(compared >= 15, `${compared} defaults`);
});

test('every numeric option refuses one past each end of its range', (t) => {
  let checked = 0;
  for (const name of OPTION_NAMES) {
    const spec = specOf(name);
    if (spec.kind === 'switch' || spec.type.range === undefined) continue;
    const [min, max] = spec.type.range;
    const text = (v: number): string => spec.type.format(v);
    t.notThrows(() => spec.type.parse(text(min)), `${longName(name)} ${min}`);
    t.notThrows(() => spec.type.parse(text(max)), `${longName(name)} ${max}`);
    t.truthy(
      refusal(() => spec.type.parse(text(max + 1))),
      `${longName(name)} ${max + 1}`,
    );
    if (min > 0)
      t.truthy(
        refusal(() => spec.type.parse(text(min - 1))),
        `${longName(name)} ${min - 1}`,
      );
    checked++;
  }
  t.true(checked >= 14, `${checked} numeric options`);
});
