/**
 * The Dockerfile, checked without a Docker engine (none runs on these machines): its build stage
 * runs the same set-up and native build as a host, nothing comes from GitHub or PyPI, the runtime
 * stage runs as a non-root user with the ports and health check of a JVB, and every environment
 * variable the configuration reads is documented in README.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/config.ts';

const read = (p: string): string => readFileSync(path.join(PROJECT_ROOT, p), 'utf8');

/** Dockerfile instructions per stage (continuation lines joined). */
function stages(text: string): Map<string, { op: string; args: string }[]> {
  const out = new Map<string, { op: string; args: string }[]>();
  let current: { op: string; args: string }[] | undefined;
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!;
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? String(out.size);
      current = [];
      out.set(name, current);
    }
    current?.push({ op, args });
  }
  return out;
}

describe('Dockerfile', () => {
  const docker = stages(read('Dockerfile'));
  const build = docker.get('build') ?? [];
  const runtime = docker.get('runtime') ?? [];

  it('builds on Debian bookworm with the same set-up and native build script as a host', () => {
    expect(build[0]?.args).toMatch(/^debian:bookworm/);
    const runs = build
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toContain('sh scripts/setup.sh start');
    expect(runs).toContain('sh native/build.sh');
    expect(read('scripts/setup.sh')).toContain('sh native/build.sh');
    expect(build.some((i) => i.op === 'COPY' && i.args.startsWith('native '))).toBe(true);
  });

  it('downloads nothing from GitHub or PyPI (Dockerfile, set-up, native build)', () => {
    for (const f of ['Dockerfile', 'scripts/setup.sh', 'native/build.sh']) {
      const text = read(f)
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n');
      expect(text, f).not.toMatch(/github\.com|githubusercontent|pypi|pip install|curl |wget /i);
    }
  });

  it('runs as a non-root user, exposes the media, private and public ports, and checks /about/health', () => {
    expect(runtime[0]?.args).toMatch(/^debian:bookworm/);
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)$/);
    const exposed = runtime.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining(['10000/udp', '8080', '9090']));
    expect(runtime.find((i) => i.op === 'HEALTHCHECK')?.args).toContain('/about/health');
    expect(runtime.find((i) => i.op === 'ENTRYPOINT')?.args).toContain('src/main.ts');
    // The worker's runtime libraries (docs/worker.md).
    const apt = runtime
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join(' ');
    for (const lib of ['libuv1', 'libssl3', 'libsrtp2-1', 'libabsl20220623']) expect(apt).toContain(lib);
  });

  it('documents in README.md every environment variable the configuration reads', () => {
    const readme = read('README.md');
    const dir = path.join(PROJECT_ROOT, 'src', 'config');
    const names = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const src = readFileSync(path.join(dir, f), 'utf8');
      for (const m of src.matchAll(/\b(?:e|env|get|has)\(\s*'([A-Z][A-Z0-9_]{2,})'/g)) names.add(m[1]!);
    }
    expect(names.size).toBeGreaterThan(10);
    const missing = [...names].filter((n) => !readme.includes(`\`${n}\``) && !readme.includes(n));
    expect(missing).toEqual([]);
  });
});
