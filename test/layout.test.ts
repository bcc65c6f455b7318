// test/ and bench/ share code only through harness/: neither imports the other, and
// harness/ imports neither, so that a change to one cannot break the other unseen. The
// notifier imports nothing of the daemon's processes: what they share is in src/shared/.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { REPO } from '../harness/daemon.js';

/** Each top-level folder, with the folders its TypeScript sources must not import from. */
const FORBIDDEN: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['test', ['bench']],
  ['bench', ['test']],
  ['harness', ['test', 'bench']],
];

/** `from '…'`, `import '…'`, `require('…')` and `import('…')`, with either quote. */
const SPECIFIER = /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"\n]+)\1/gm;

function specifiers(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) => m[2] as string);
}

function typescriptFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typescriptFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The top-level folder a relative import from `file` lands in (null for packages). */
function targetFolder(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = path.relative(REPO, path.resolve(path.dirname(file), specifier));
  return target.split(path.sep)[0] ?? null;
}

/** "file: 'specifier'" for each import that crosses a forbidden line. */
function crossings(folder: string, forbidden: readonly string[]): string[] {
  return typescriptFiles(path.join(REPO, folder)).flatMap((file) =>
    specifiers(fs.readFileSync(file, 'utf8'))
      .filter((s) => forbidden.includes(targetFolder(file, s) ?? ''))
      .map((s) => `${path.relative(REPO, file)}: '${s}'`),
  );
}

test('the import scan sees every form of import', (t) => {
  const source = [
    "import test from 'ava';",
    "import type { Testbed } from '../harness/netns.js';",
    "import fs = require('node:fs');",
    'import "./side-effect.js";',
    "const later = await import('../src/shared/params.js');",
    'export { x } from "./x.js";',
  ].join('\n');
  t.deepEqual(specifiers(source), ['ava', '../harness/netns.js', 'node:fs', './side-effect.js', '../src/shared/params.js', './x.js']);
  t.is(targetFolder(path.join(REPO, 'test', 'integration', 'a.test.ts'), '../../bench/generator.js'), 'bench');
  t.is(targetFolder(path.join(REPO, 'bench', 'run.ts'), './stats.js'), 'bench');
  t.is(targetFolder(path.join(REPO, 'bench', 'run.ts'), 'node:fs'), null);
});

for (const [folder, forbidden] of FORBIDDEN) {
  test(`nothing under ${folder}/ imports from ${forbidden.map((f) => `${f}/`).join(' or ')}`, (t) => {
    t.true(fs.existsSync(path.join(REPO, folder)), `${folder}/ not found below ${REPO}`);
    t.deepEqual(crossings(folder, forbidden), []);
  });
}

/** "file: 'specifier'" for each relative import of a file below `dir` that lands below one of `forbidden`. */
function importsInto(dir: string, forbidden: readonly string[]): string[] {
  return typescriptFiles(path.join(REPO, dir)).flatMap((file) =>
    specifiers(fs.readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .filter((s) => forbidden.some((f) => path.relative(REPO, path.resolve(path.dirname(file), s)).startsWith(`${f}/`)))
      .map((s) => `${path.relative(REPO, file)}: '${s}'`),
  );
}

test('nothing under src/notify/ imports from src/monitor/ or src/capture/', (t) => {
  t.true(typescriptFiles(path.join(REPO, 'src', 'notify')).length > 5);
  t.deepEqual(importsInto('src/notify', ['src/monitor', 'src/capture']), []);
  // The scan sees such an import where there is one.
  t.true(importsInto('src/monitor', ['src/shared']).length > 0);
});
