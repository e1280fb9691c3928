/**
 * A CPU profile of the bridge's Node process over one steady phase, through the V8 inspector
 * the bridge opened (`node --inspect=127.0.0.1:0`, its "Debugger listening on ws://…" line in the
 * bridge log) and the Chrome DevTools Protocol `Profiler` domain
 * (https://chromedevtools.github.io/devtools-protocol/tot/Profiler/): `start`, then `stop`, which
 * returns the profile (a `.cpuprofile`, for Chrome DevTools or speedscope), and a summary of
 * where the time went: self time by function and by source file.
 */
import fs from 'node:fs';

/** `Runtime.CallFrame` (the parts used here). */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** `Profiler.Profile` (the parts used here). `timeDeltas` in µs. */
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

/** Self time of one function or file: ms and % of the profiled time the process was not idle. */
export interface HotSpot {
  name: string;
  ms: number;
  pct: number;
}

/**
 * One long task: consecutive samples with the process never idle, `ms` long, starting `atMs`
 * after the profile's start; `stacks`: the outermost project frames (`src/…`, up to 3, outer
 * first) of its samples, with their share of the task (%), most frequent first.
 */
export interface LongTask {
  atMs: number;
  ms: number;
  stacks: { stack: string; pct: number }[];
}

/** What {@link summarize} finds: busy ms (not `(idle)`) over `wallMs`, the top functions, files and areas, the longest tasks. */
export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  functions: HotSpot[];
  files: HotSpot[];
  areas: HotSpot[];
  longTasks: LongTask[];
}

/** The inspector WebSocket URL from the bridge's log. @throws Error when it does not appear within `timeoutMs`. */
export async function inspectorUrl(logFile: string, timeoutMs = 10_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
    if (m?.[1]) return m[1];
    if (Date.now() - t0 > timeoutMs) throw new Error(`no inspector URL in ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A minimal CDP session over the global WebSocket (Node ≥ 22). */
class Cdp {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, (result: unknown) => void>();
  #id = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
      if (m.id !== undefined) this.#pending.get(m.id)?.(m.result);
    };
  }

  static async open(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`inspector ${url}: connection failed`));
    });
    return new Cdp(ws);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    return new Promise<T>((resolve) => {
      this.#pending.set(id, (r) => resolve(r as T));
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.#ws.close();
  }
}

/**
 * Profile the process behind `url` while `during` runs (sampling every `intervalUs` µs), write
 * the profile to `file` and return its summary with `during`'s result.
 */
export async function profileDuring<T>(
  url: string,
  file: string,
  during: () => Promise<T>,
  intervalUs = 1000,
): Promise<{ result: T; summary: ProfileSummary }> {
  const cdp = await Cdp.open(url);
  try {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: intervalUs });
    await cdp.send('Profiler.start');
    const result = await during();
    const { profile } = await cdp.send<{ profile: CpuProfile }>('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
    return { result, summary: summarize(profile, file) };
  } finally {
    cdp.close();
  }
}

/** A source location shortened to the project (`src/…`, `node_modules/<pkg>`) or Node's own (`node:…`). */
function shortFile(url: string): string {
  if (url === '') return '(native / VM)';
  const nm = /.*node_modules\/(.*)$/.exec(url);
  if (nm) return `node_modules/${nm[1]}`;
  const own = /\/(src|bench|test)\/(.*)$/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return url;
}

/** The area of a file: `src/<dir>`, `node_modules/<package>`, `node:internal` … */
function areaOf(file: string): string {
  const nm = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (nm) return `node_modules/${nm[1]}`;
  const own = /^(src|bench|test)\/([^/]+)\//.exec(file);
  if (own) return `${own[1]}/${own[2]}`;
  if (file.startsWith('node:'))
    return file
      .split('/')
      .slice(0, file.startsWith('node:internal') ? 2 : 1)
      .join('/');
  return file;
}

/** Self time by function, by file and by area (package or src/ directory), top `top` of each (descending), from the profile's samples. */
export function summarize(profile: CpuProfile, file: string, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample (the last one gets none).
  for (let i = 0; i < samples.length - 1; i++) {
    const id = samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? 0) / 1000);
  }
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  const areas = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of self) {
    const cf = byId.get(id)?.callFrame;
    if (!cf || cf.functionName === '(idle)') continue;
    busyMs += ms;
    const f = shortFile(cf.url);
    const fn = `${cf.functionName || '(anonymous)'} ${cf.url ? `${f}:${cf.lineNumber + 1}` : ''}`.trim();
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
    const key = cf.url ? f : cf.functionName;
    files.set(key, (files.get(key) ?? 0) + ms);
    const area = cf.url ? areaOf(f) : cf.functionName;
    areas.set(area, (areas.get(area) ?? 0) + ms);
  }
  const rank = (m: Map<string, number>): HotSpot[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, pct: busyMs > 0 ? (100 * ms) / busyMs : 0 }));
  return {
    file,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    functions: rank(fns),
    files: rank(files),
    areas: rank(areas),
    longTasks: longTasks(profile),
  };
}

/** The `count` longest stretches of non-idle samples (the event loop's longest blocks), see {@link LongTask}. */
export function longTasks(profile: CpuProfile, count = 3): LongTask[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = profile.samples ?? [];
  const at: number[] = [];
  let t = 0;
  for (const d of profile.timeDeltas ?? []) at.push((t += d / 1000));
  const idle = (i: number): boolean => byId.get(samples[i] as number)?.callFrame.functionName === '(idle)';
  const stretches: [number, number][] = [];
  for (let i = 0, start = -1; i <= samples.length; i++) {
    if (i < samples.length && !idle(i)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      stretches.push([start, i]);
      start = -1;
    }
  }
  const length = ([a, b]: [number, number]): number => (at[b] ?? at[b - 1] ?? 0) - (at[a] ?? 0);
  return stretches
    .sort((x, y) => length(y) - length(x))
    .slice(0, count)
    .map(([a, b]) => {
      const stacks = new Map<string, number>();
      for (let i = a; i < b; i++) {
        const chain: CallFrame[] = [];
        for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) {
          const cf = byId.get(id)?.callFrame;
          if (cf) chain.unshift(cf);
        }
        const own = chain.filter((cf) => /\/src\//.test(cf.url)).slice(0, 3);
        const key = own.length
          ? own.map((cf) => `${cf.functionName || '(anonymous)'} ${shortFile(cf.url)}:${cf.lineNumber + 1}`).join(' > ')
          : (chain.at(-1)?.functionName ?? '?');
        stacks.set(key, (stacks.get(key) ?? 0) + 1);
      }
      const n = Math.max(1, b - a);
      return {
        atMs: at[a] ?? 0,
        ms: length([a, b]),
        stacks: [...stacks]
          .sort((x, y) => y[1] - x[1])
          .slice(0, 4)
          .map(([stack, k]) => ({ stack, pct: (100 * k) / n })),
      };
    });
}
