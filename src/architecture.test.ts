/**
 * The layering of src/ (docs/architecture.md), read from the import statements of the source files (tests left out):
 * no import cycle between the folders, media/ knows nothing of the protocols or the conference model, and only media/
 * imports mediasoup.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every non-test .ts file under src/, relative to src/. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [relative(SRC, path)] : [];
  });
}

/** The module specifiers a file imports or re-exports (static `from '...'` clauses). */
function specifiers(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1] ?? '');
}

/** The src/ folder of a file, or undefined for a file at the top (main.ts, bridge.ts, logger.ts). */
function folderOf(file: string): string | undefined {
  const parts = file.split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

/** Folder → the folders its files import. */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles()) {
    const from = folderOf(file);
    if (!from) continue;
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const spec of specifiers(file)) {
      if (!spec.startsWith('.')) continue;
      const to = folderOf(relative(SRC, join(SRC, dirname(file), spec)));
      if (to && to !== from) edges.add(to);
    }
  }
  return graph;
}

/** The folders on some cycle, each with one cycle through it (a → b → … → a). */
function cycles(graph: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  for (const start of graph.keys()) {
    const path = (node: string, seen: string[]): string[] | undefined => {
      for (const next of graph.get(node) ?? []) {
        if (next === start) return [...seen, next];
        if (!seen.includes(next)) {
          const p = path(next, [...seen, next]);
          if (p) return p;
        }
      }
      return undefined;
    };
    const p = path(start, [start]);
    if (p) found.push(p.join(' → '));
  }
  return found;
}

/** The folders from the top down, as docs/architecture.md lists them: each may import only those after it. */
const LAYERS = [
  'config',
  'focus',
  'http',
  'wireguard',
  'metrics',
  'xmpp',
  'conference',
  'colibri2',
  'media',
  'channel',
  'allocation',
  'limits',
  'jingle',
  'util',
];

describe('the layering of src/', () => {
  // Read once: every test looks at the same imports.
  const graph = folderGraph();

  it('has each folder import only the folders below it in docs/architecture.md', () => {
    expect([...graph.keys()].sort()).toEqual([...LAYERS].sort());
    const upward = [...graph].flatMap(([from, to]) => [...to].filter((t) => LAYERS.indexOf(t) < LAYERS.indexOf(from)).map((t) => `${from} → ${t}`));
    expect(upward).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    expect(graph.size).toBeGreaterThan(10);
    expect(cycles(graph)).toEqual([]);
  });

  it('keeps media/ free of the protocols and the conference model', () => {
    const media = [...(graph.get('media') ?? [])];
    for (const above of ['colibri2', 'conference', 'channel', 'xmpp', 'http', 'focus', 'metrics']) expect(media).not.toContain(above);
  });

  it('lets only media/ import mediasoup', () => {
    const outside = sourceFiles().filter((f) => folderOf(f) !== 'media' && specifiers(f).some((s) => s === 'mediasoup' || s.startsWith('mediasoup/')));
    expect(outside).toEqual([]);
  });
});
