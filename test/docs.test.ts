// The documentation's links lead somewhere: every relative link of README.md and docs/*.md
// names a file that exists, and every #anchor a heading of that file; docs/layout.md names
// every source file.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { REPO } from '../harness/daemon.js';

/** The text without fenced code blocks and inline code, where nothing is a link or heading. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** A heading's anchor as GitHub makes it: lower case, punctuation gone, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor of a Markdown text, a repeated one with -1, -2 ... as GitHub numbers them. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutFences = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  for (const m of withoutFences.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const base = slug(m[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** "file: target (why)" for each relative link of `file` that leads nowhere. */
function brokenLinks(file: string, markdown: string): string[] {
  const broken: string[] = [];
  for (const m of prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1] as string;
    if (/^[a-z]+:/i.test(target)) continue;
    const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
    const resolved = pathPart === '' ? file : path.resolve(path.dirname(file), pathPart);
    if (!fs.existsSync(resolved)) {
      broken.push(`${path.relative(REPO, file)}: ${target} (no such file)`);
      continue;
    }
    if (fragment !== undefined && !anchors(fs.readFileSync(resolved, 'utf8')).has(fragment)) {
      broken.push(`${path.relative(REPO, file)}: ${target} (no such heading)`);
    }
  }
  return broken;
}

const docsDir = path.join(REPO, 'docs');
const documents = [
  path.join(REPO, 'README.md'),
  ...fs
    .readdirSync(docsDir)
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join(docsDir, name)),
];

test('every relative link and anchor of README.md and docs/*.md resolves', (t) => {
  t.true(documents.length > 5, documents.join(' '));
  const broken = documents.flatMap((file) => brokenLinks(file, fs.readFileSync(file, 'utf8')));
  t.deepEqual(broken, []);
});

test('every document under docs/ is linked from README.md', (t) => {
  const readme = prose(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8'));
  const linked = new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((m) => m[1]));
  for (const file of documents.slice(1)) t.true(linked.has(`docs/${path.basename(file)}`), file);
});

test('the link check finds a missing file, a missing heading, and GitHub anchors', (t) => {
  const readme = path.join(REPO, 'README.md');
  t.deepEqual(brokenLinks(readme, '[a](docs/none.md) [b](#no-such-heading) [c](#requirements)'), [
    'README.md: docs/none.md (no such file)',
    'README.md: #no-such-heading (no such heading)',
  ]);
  t.deepEqual(brokenLinks(readme, '`[a](docs/none.md)`\n```\n[b](#nothing)\n```\n'), []);
  t.deepEqual(
    [...anchors('# Capture: raw socket or libpcap\n## Slow scans (`--slow-scans`)\n## A\n## A\n```\n# not\n```\n')],
    ['capture-raw-socket-or-libpcap', 'slow-scans---slow-scans', 'a', 'a-1'],
  );
});

test('docs/layout.md names every source file under its folder', (t) => {
  const layout = fs.readFileSync(path.join(docsDir, 'layout.md'), 'utf8');
  const src = path.join(REPO, 'src');
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    if (!entry.isDirectory()) {
      t.true(layout.includes(`\`src/${entry.name}\``), `src/${entry.name}`);
      continue;
    }
    const row = layout.split('\n').find((line) => line.startsWith(`| \`src/${entry.name}/\``));
    t.truthy(row, `no row for src/${entry.name}/`);
    // The addons' type declarations are named as a kind, one file per addon.
    if (entry.name === 'types') continue;
    for (const file of fs.readdirSync(path.join(src, entry.name))) {
      t.true(row?.includes(`\`${file}\``), `src/${entry.name}/${file} is not in its row`);
    }
  }
});
