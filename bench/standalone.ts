/**
 * Standalone-mode figures: time from page load to the first decoded remote frame
 * (median of N joins), and the bridge's CPU% and RSS with three Chromium participants sending
 * 720p. The bridge runs as its own process (`node src/main.ts`), measured from /proc, so the
 * harness's own CPU is not counted. Prints a table; `--json` prints JSON.
 *
 *   npm run bench:standalone -- [--joins 5] [--seconds 20] [--width 1280 --height 720 --fps 30]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../src/config/config.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './lib/chromium.ts';
import { childrenOf, cpuSeconds, rssKiB } from './lib/measure.ts';

const { values: args } = parseArgs({
  options: {
    joins: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '20' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    fps: { type: 'string', default: '30' },
    port: { type: 'string', default: '19090' },
    json: { type: 'boolean', default: false },
  },
});

const PUBLIC_PORT = Number(args.port);

async function startBridge(): Promise<{ proc: ChildProcess; workerPids: number[] }> {
  const proc = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts')], {
    env: {
      ...process.env,
      OCTOBRIDGE_PUBLIC_PORT: String(PUBLIC_PORT),
      OCTOBRIDGE_PRIVATE_PORT: '0',
      JVB_PORT: '0',
      OCTOBRIDGE_LISTEN_IP: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PUBLIC_PORT}/bench`)).ok) break;
    } catch {
      // not yet listening
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const workerPids = childrenOf(proc.pid ?? -1);
  if (workerPids.length === 0) throw new Error('mediasoup worker process not found');
  return { proc, workerPids };
}

async function openPage(browser: Browser, room: string, name: string, media: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${PUBLIC_PORT}/${room}?name=${name}&${media}`);
  return page;
}

/** ms from navigation start to the first decoded remote video frame, measured in the page. */
async function timeToFirstFrame(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const hook = window as unknown as { octobridge?: { pc: RTCPeerConnection | null } };
    for (;;) {
      const pc = hook.octobridge?.pc;
      if (pc) {
        let decoded = 0;
        (await pc.getStats()).forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') decoded += s.framesDecoded ?? 0;
        });
        if (decoded > 0) return performance.now();
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const { proc, workerPids } = await startBridge();
  const bridgePid = proc.pid ?? -1;
  const launch = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const browsers: Browser[] = [];
  try {
    // 1. Join time: a sender is in the room; a new page loads and waits for its first frame.
    const small = 'width=640&height=360&fps=30';
    const sender = await launch();
    browsers.push(sender);
    await openPage(sender, 'join-bench', 'Sender', small);
    const joins: number[] = [];
    const joiner = await launch();
    browsers.push(joiner);
    for (let i = 0; i < Number(args.joins); i++) {
      const page = await openPage(joiner, 'join-bench', `Joiner${i}`, small);
      joins.push(await timeToFirstFrame(page));
      await page.close({ runBeforeUnload: true });
      await new Promise((r) => setTimeout(r, 500));
    }
    await Promise.all(browsers.splice(0).map((b) => b.close()));

    // 2. Three participants sending 720p: bridge CPU% and RSS over the window.
    const media = `width=${args.width}&height=${args.height}&fps=${args.fps}`;
    const pages: Page[] = [];
    for (const name of ['A', 'B', 'C']) {
      const b = await launch();
      browsers.push(b);
      pages.push(await openPage(b, 'load-bench', name, media));
    }
    for (const p of pages) await timeToFirstFrame(p);
    await new Promise((r) => setTimeout(r, 3000)); // let bitrates ramp up
    const seconds = Number(args.seconds);
    const workersCpu = (): number[] => workerPids.map(cpuSeconds);
    const cpu0 = { bridge: cpuSeconds(bridgePid), workers: workersCpu() };
    const rss = { bridge: 0, worker: 0 };
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      rss.bridge = Math.max(rss.bridge, rssKiB(bridgePid));
      rss.worker = Math.max(
        rss.worker,
        workerPids.reduce((n, pid) => n + rssKiB(pid), 0),
      );
    }
    const wall = (Date.now() - t0) / 1000;
    const perWorker = workersCpu().map((c, i) => ((c - (cpu0.workers[i] ?? c)) / wall) * 100);
    const cpu = { bridge: ((cpuSeconds(bridgePid) - cpu0.bridge) / wall) * 100, worker: perWorker.reduce((a, b) => a + b, 0) };
    const received = await Promise.all(
      pages.map((p) =>
        p.evaluate(async () => {
          const pc = (window as unknown as { octobridge: { pc: RTCPeerConnection } }).octobridge.pc;
          const out: { w: number; h: number; fps: number }[] = [];
          (await pc.getStats()).forEach((s: { type: string; kind?: string; frameWidth?: number; frameHeight?: number; framesPerSecond?: number }) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video' && s.frameWidth)
              out.push({ w: s.frameWidth, h: s.frameHeight ?? 0, fps: s.framesPerSecond ?? 0 });
          });
          return out;
        }),
      ),
    );
    const result = {
      joinToFirstFrameMs: { median: Math.round(median(joins)), runs: joins.map(Math.round) },
      threeParticipants: {
        media,
        windowSeconds: Math.round(wall),
        cpuPercent: {
          node: +cpu.bridge.toFixed(1),
          worker: +cpu.worker.toFixed(1),
          perWorker: perWorker.map((c) => +c.toFixed(1)),
          total: +(cpu.bridge + cpu.worker).toFixed(1),
        },
        rssMiB: { node: +(rss.bridge / 1024).toFixed(1), worker: +(rss.worker / 1024).toFixed(1) },
        receivedVideo: received.flat(),
      },
    };
    if (args.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      console.log(`page load -> first decoded remote frame: median ${result.joinToFirstFrameMs.median} ms (runs ${joins.map(Math.round).join(', ')} ms)`);
      const t = result.threeParticipants;
      console.log(`3 participants sending ${args.width}x${args.height}@${args.fps}, ${t.windowSeconds} s window:`);
      console.log(
        `  bridge CPU: node ${t.cpuPercent.node}%  mediasoup workers ${t.cpuPercent.worker}% (${t.cpuPercent.perWorker.join('% + ')}%)  total ${t.cpuPercent.total}% (of one core)`,
      );
      console.log(`  bridge RSS (max): node ${t.rssMiB.node} MiB  workers ${t.rssMiB.worker} MiB`);
      console.log(`  received video: ${t.receivedVideo.map((v) => `${v.w}x${v.h}@${v.fps}`).join(' ')}`);
    }
  } finally {
    await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
    // Now, not gracefully (SIGTERM would wait for the conferences to end).
    proc.kill('SIGINT');
  }
}

await main();
