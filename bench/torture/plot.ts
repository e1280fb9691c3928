/**
 * The run's plot: Chart.js (4.x) rendered in Node on @napi-rs/canvas (Skia, a prebuilt binary
 * from the npm registry; text in the system's Liberation/DejaVu fonts). Two panels over time
 * (seconds since the first join): participants and forwarded streams; the server's CPU (total
 * and per process, or per bridge of a cascade, % of one core) next to the load generator's and the rest of the machine's,
 * with the freeze rate (freezes per stream-minute, 10 s window) and packet loss (%). Faults show
 * as dashed vertical lines.
 */
import fs from 'node:fs';
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';
import { bridgeOfProcess } from './cascade.ts';
import type { ServerRun } from '../lib/results.ts';

Chart.register(...registerables);
Chart.defaults.font.family = 'Liberation Sans, DejaVu Sans, sans-serif';
Chart.defaults.animation = false;

const WIDTH = 1200;
const PANEL_HEIGHT = 420;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** Vertical dashed lines with a label at x = seconds. */
function markers(lines: { t: number; label: string }[]): Plugin<'line'> {
  return {
    id: 'markers',
    afterDraw(chart) {
      const x = chart.scales.x;
      const area = chart.chartArea;
      if (!x) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = '#555';
      ctx.fillStyle = '#333';
      ctx.font = '12px Liberation Sans, DejaVu Sans, sans-serif';
      for (const m of lines) {
        const px = x.getPixelForValue(m.t);
        if (px < area.left || px > area.right) continue;
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.fillText(m.label, px + 4, area.top + 14);
      }
      ctx.restore();
    },
  };
}

/** White background under the transparent chart. */
const background: Plugin<'line'> = {
  id: 'background',
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** Render one panel to its own canvas (Chart.js draws at once without animation; `destroy()` would clear it). */
function panel(config: ChartConfiguration<'line'>): Canvas {
  const canvas = createCanvas(WIDTH, PANEL_HEIGHT);
  new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, {
    ...config,
    options: { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 },
  }).draw();
  return canvas;
}

/**
 * Draw `run` into a PNG at `file` (1200 x 840 px).
 * @throws Error when the file cannot be written.
 */
export function plotRun(run: ServerRun, file: string, title: string): void {
  const tl = run.timeline;
  const at = (t: number): number => (t - run.t0) / 1000;
  const lines = [
    ...run.faults.map((f) => ({ t: at(run.steadyFrom) + f.atS, label: f.kind })),
    // A fault that lasts (a relay outage): its end too.
    ...run.faults.flatMap((f) =>
      f.at !== undefined && f.until !== undefined && f.until > f.at
        ? [{ t: at(run.steadyFrom) + f.atS + (f.until - f.at) / 1000, label: `${f.kind} end` }]
        : [],
    ),
    { t: at(run.steadyFrom), label: 'all joined' },
  ];
  const xScale = { type: 'linear' as const, title: { display: true, text: 'seconds since the first join' }, min: 0 };
  const top = panel({
    type: 'line',
    data: {
      datasets: [
        { label: 'participants connected', data: tl.map((s) => ({ x: s.t, y: s.participants })), borderColor: COLORS[0], yAxisID: 'y', pointRadius: 0 },
        {
          label: 'forwarded streams (flowing video + audio at receivers)',
          data: tl.map((s) => ({ x: s.t, y: s.forwardedStreams })),
          borderColor: COLORS[2],
          yAxisID: 'y1',
          pointRadius: 0,
        },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } },
      scales: {
        x: xScale,
        y: { title: { display: true, text: 'participants' }, beginAtZero: true },
        y1: { position: 'right', title: { display: true, text: 'streams' }, beginAtZero: true, grid: { drawOnChartArea: false } },
      },
    },
    plugins: [background, markers(lines)],
  });
  // One line per process; a cascade: one per bridge (its Node and workers summed).
  const names = [...new Set(tl.flatMap((s) => s.server.processes.map((p) => p.name)))];
  const regions = run.bridges?.map((b) => b.region);
  const series: { label: string; cpu: (s: (typeof tl)[number]) => number }[] = regions
    ? regions.map((r) => ({
        label: `bridge ${r} CPU %`,
        cpu: (s) => s.server.processes.filter((p) => bridgeOfProcess(p.name) === r).reduce((n, p) => n + p.cpu, 0),
      }))
    : names.map((n) => ({ label: `${n} CPU %`, cpu: (s) => s.server.processes.find((p) => p.name === n)?.cpu ?? Number.NaN }));
  const bottom = panel({
    type: 'line',
    data: {
      datasets: [
        {
          label: `${run.server} CPU total (% of one core)`,
          data: tl.map((s) => ({ x: s.t, y: s.server.cpu })),
          borderColor: '#000',
          borderWidth: 2,
          yAxisID: 'y',
          pointRadius: 0,
        },
        ...series.map((x, i) => ({
          label: x.label,
          data: tl.map((s) => ({ x: s.t, y: x.cpu(s) })),
          borderColor: COLORS[(i + 3) % COLORS.length],
          borderWidth: 1,
          yAxisID: 'y',
          pointRadius: 0,
        })),
        {
          label: 'load generator CPU %',
          data: tl.map((s) => ({ x: s.t, y: s.harness.agentCpu + s.harness.chromiumCpu })),
          borderColor: '#888',
          borderWidth: 1,
          borderDash: [2, 2],
          yAxisID: 'y',
          pointRadius: 0,
        },
        {
          label: 'other work on the machine CPU %',
          data: tl.map((s) => ({ x: s.t, y: s.machine.othersCpu })),
          borderColor: '#bbb',
          borderWidth: 1,
          borderDash: [6, 3],
          yAxisID: 'y',
          pointRadius: 0,
        },
        {
          label: 'freezes per stream-minute (10 s window)',
          data: tl.map((s) => ({ x: s.t, y: s.quality?.freezesPerMin ?? 0 })),
          borderColor: COLORS[1],
          borderWidth: 2,
          yAxisID: 'y1',
          pointRadius: 0,
        },
        {
          label: 'packet loss % (10 s window)',
          data: tl.map((s) => ({ x: s.t, y: s.quality?.lossPct ?? 0 })),
          borderColor: COLORS[4],
          borderDash: [4, 3],
          yAxisID: 'y1',
          pointRadius: 0,
        },
      ],
    },
    options: {
      plugins: { legend: { position: 'bottom' } },
      scales: {
        x: xScale,
        y: { title: { display: true, text: 'CPU % of one core' }, beginAtZero: true },
        y1: { position: 'right', title: { display: true, text: 'freezes/min, loss %' }, beginAtZero: true, suggestedMax: 2, grid: { drawOnChartArea: false } },
      },
    },
    plugins: [background, markers(lines)],
  });
  const out = createCanvas(WIDTH, PANEL_HEIGHT * 2);
  const ctx = out.getContext('2d') as SKRSContext2D;
  ctx.drawImage(top, 0, 0);
  ctx.drawImage(bottom, 0, PANEL_HEIGHT);
  fs.writeFileSync(file, out.toBuffer('image/png'));
}
