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

// ---------------------------------------------------------------------------
// src/: each role's folder holds its own code, and src/shared/ only what more than one
// role loads. A process loads its own side only (test/integration/roles.test.ts reads
// the running processes' maps); here the same holds for the sources.

const ROLES = ['capture', 'monitor', 'notify'] as const;

/** The source file a relative import from `file` names (.js written, .ts on disk), or null. */
function importedFile(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
  return fs.existsSync(target) ? target : null;
}

/** Every source file that loading `files` loads, `files` included. */
function loadedBy(files: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...files];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const s of specifiers(fs.readFileSync(file, 'utf8'))) {
      const target = importedFile(file, s);
      if (target !== null) stack.push(target);
    }
  }
  return seen;
}

const srcFolder = (folder: string): string[] => typescriptFiles(path.join(REPO, 'src', folder)).filter((f) => !f.endsWith('.d.ts'));

for (const [folder, forbidden] of [
  ['capture', ['monitor', 'notify']],
  ['monitor', ['capture', 'notify']],
  ['notify', ['capture', 'monitor']],
  ['shared', ['capture', 'monitor', 'notify', 'cli.ts']],
] as const) {
  test(`nothing under src/${folder}/ imports from ${forbidden.map((f) => `src/${f}`).join(' or ')}`, (t) => {
    const crossing = srcFolder(folder).flatMap((file) =>
      specifiers(fs.readFileSync(file, 'utf8'))
        .filter((s) => {
          const target = importedFile(file, s);
          return (
            target !== null &&
            (forbidden as readonly string[]).includes(path.relative(path.join(REPO, 'src'), target).split(path.sep)[0] ?? '')
          );
        })
        .map((s) => `${path.relative(REPO, file)}: '${s}'`),
    );
    t.deepEqual(crossing, []);
  });
}

test('every module in src/shared/ is loaded by more than one role; what one role alone loads lives in its folder', (t) => {
  const loaded = new Map(ROLES.map((role) => [role, loadedBy(srcFolder(role))]));
  const single = srcFolder('shared')
    .map((file) => [path.relative(REPO, file), ROLES.filter((role) => loaded.get(role)?.has(file))] as const)
    .filter(([, roles]) => roles.length < 2)
    .map(([file, roles]) => `${file}: ${roles.join(', ') || 'no role'}`);
  t.deepEqual(single, []);
});
