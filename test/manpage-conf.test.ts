// scanlogd.conf(5) describes every key the file takes, as the option table defines it:
// for each key its value, range and default, and the option it mirrors, so that an
// option added without an entry on the page, or a default changed on one side only,
// fails here.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { configKeys } from '../src/shared/config.js';
import { buildProgram } from '../src/capture/settings.js';
import { OPTION_NAMES, longName, specOf, type OptionName, type Spec } from '../src/shared/options.js';
import { absolutePath } from '../src/shared/values.js';
import { REPO } from '../harness/daemon.js';

const PAGE = path.join(REPO, 'packaging', 'scanlogd.conf.5');

/** A line of the page as it reads: fonts dropped, escaped hyphens plain. */
const plain = (line: string): string => line.replace(/\\f[BIRP]/g, '').replace(/\\-/g, '-');

/** What the page says of a key's value: its kind, range and default, in one line. */
function facts(spec: Spec): string {
  if (spec.kind === 'switch') return 'Yes or no (or true or false); default no.';
  if (spec.kind === 'list') return `One entry per line, up to ${spec.max} lines; none by default.`;
  const shown = spec.defaultText ?? (spec.default === null ? 'none' : spec.type.format(spec.default));
  const range = spec.type.range;
  const choices = (spec.type as { choices?: readonly string[] }).choices;
  let kind = 'Text, as the option takes it';
  if (range !== undefined && spec.type.unit === 'ms') kind = `Seconds (up to three decimals) from ${range[0] / 1000} to ${range[1] / 1000}`;
  else if (range !== undefined) kind = `A whole number from ${range[0]} to ${range[1]}`;
  else if (choices !== undefined) kind = `One of ${choices.join(', ')}`;
  else if (spec.type === absolutePath) kind = 'An absolute path';
  return `${kind}; default ${shown}.`;
}

/** Each entry of the page: key, the value's name, the facts line and the line saying which option it mirrors. */
function entries(page: string): Map<string, { arg: string; facts: string; mirrors: string }> {
  const out = new Map<string, { arg: string; facts: string; mirrors: string }>();
  for (const m of page.matchAll(/^\.TP\n\\fB([a-z0-9\\-]+)\\fP = \\fI(.+?)\\fP\n(.*)\n(.*)\n/gm)) {
    out.set(plain(m[1] as string), { arg: plain(m[2] as string), facts: m[3] as string, mirrors: m[4] as string });
  }
  return out;
}

test('scanlogd.conf(5) has one entry per key, and no other, with the value, range and default of the option table', (t) => {
  const page = fs.readFileSync(PAGE, 'utf8');
  const listed = entries(page);
  const keys = [...configKeys(buildProgram()).keys()];
  t.deepEqual([...listed.keys()].sort(), [...keys].sort());
  for (const key of keys) {
    const name = OPTION_NAMES.find((n) => longName(n) === key) as OptionName;
    const spec = specOf(name);
    const entry = listed.get(key);
    t.is(plain(entry?.facts ?? ''), facts(spec), key);
    t.is(entry?.arg, spec.kind === 'switch' ? 'yes|no' : spec.arg.replace(/^<|>$/g, ''), key);
    t.is(plain(entry?.mirrors ?? ''), `As --${key}: ${spec.help}.`, key);
  }
});

test('scanlogd.conf(5) names the options only the command line takes, and why', (t) => {
  const page = fs.readFileSync(PAGE, 'utf8');
  const section = /^\.SH COMMAND-LINE ONLY\n([\s\S]*?)^\.SH /m.exec(page.replace(/\\-/g, '-'))?.[1] ?? '';
  const commandLineOnly = OPTION_NAMES.filter((name) => {
    const spec = specOf(name);
    return spec.commandLineOnly === true || name === 'config';
  });
  t.true(commandLineOnly.length >= 4);
  for (const name of commandLineOnly) t.regex(section, new RegExp(`^\\.B(R)? --${longName(name)}\\b`, 'm'), longName(name));
});

test('the page is installed by both packages and named in scanlogd(8)', (t) => {
  const read = (file: string): string => fs.readFileSync(path.join(REPO, 'packaging', file), 'utf8');
  t.regex(read('debian/scanlogd-ts.manpages'), /^scanlogd\.conf\.5$/m);
  t.regex(read('rpm/scanlogd-ts.spec'), /^install -D -m 0644 scanlogd\.conf\.5 %\{buildroot\}%\{_mandir\}\/man5\/scanlogd\.conf\.5$/m);
  t.regex(read('rpm/scanlogd-ts.spec'), /^%\{_mandir\}\/man5\/scanlogd\.conf\.5\*$/m);
  t.regex(read('build.sh'), /packaging\/scanlogd\.conf\.5/);
  t.regex(read('scanlogd.8').split('.SH SEE ALSO')[1] ?? '', /^\.BR scanlogd\.conf \(5\),$/m);
});
