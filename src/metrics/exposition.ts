/**
 * The three `/metrics` formats JVB's endpoint serves (jitsi-videobridge `rest/prometheus/Prometheus.java`,
 * jicoco `MetricsContainer.getMetrics`), picked from the `Accept` header:
 *
 * | Accept (highest q first) | answer |
 * |---|---|
 * | `application/openmetrics-text` | OpenMetrics 1.0.0 (counter families without `_total`, samples with it, `# EOF`) |
 * | `text/plain` | Prometheus text 0.0.4 |
 * | `application/json` | JVB's flat JSON: metric name without `jitsi_jvb_` → value (see {@link toJvbJson}) |
 * | `*` / `*` or no header, or nothing acceptable | Prometheus text 0.0.4 (JVB's documented default) |
 *
 * The serialisers work on prom-client's `getMetricsAsJSON()` objects: prom-client's own
 * OpenMetrics mode renames counters in place, so one registry cannot serve both text formats.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export const CONTENT_TYPE_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
export const CONTENT_TYPE_OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export const CONTENT_TYPE_JSON = 'application/json';

/** The format to render. */
export type MetricsFormat = 'text' | 'openmetrics' | 'json';

/** A rendered `/metrics` answer. */
export interface RenderedMetrics {
  contentType: string;
  body: string;
}

/**
 * Pick the format for an `Accept` header: media ranges by descending q (stable for ties), the
 * first one we serve wins; q=0 means "not acceptable". Parameters other than q (version,
 * charset, escaping) are ignored, as JVB does.
 */
export function negotiateFormat(accept: string | undefined): MetricsFormat {
  if (!accept) return 'text';
  const ranges = accept
    .split(',')
    .map((part, index) => {
      const [type = '', ...params] = part.split(';').map((p) => p.trim());
      let q = 1;
      for (const p of params) {
        const m = /^q\s*=\s*([0-9.]+)$/i.exec(p);
        if (m) q = Number(m[1]);
      }
      return { type: type.toLowerCase(), q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((r) => r.type !== '' && r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const r of ranges) {
    if (r.type === 'application/openmetrics-text') return 'openmetrics';
    if (r.type === 'text/plain') return 'text';
    if (r.type === 'application/json') return 'json';
    if (r.type === '*/*' || r.type === 'text/*') return 'text';
  }
  return 'text';
}

type Family = MetricObjectWithValues<MetricValue<string>>;
type Sample = MetricValue<string> & { metricName?: string; exemplar?: unknown };

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(labels: Record<string, string | number | undefined>): string {
  const parts = Object.entries(labels)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${k}="${escapeLabelValue(typeof v === 'number' ? formatNumber(v) : v)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/**
 * OpenMetrics 1.0.0 text: `# HELP`/`# TYPE` per family, counters as family `x` with samples
 * `x_total`, `infoNames` (gauges named `*_info`, value 1) as `info` families, `# EOF` at the end.
 */
export function toOpenMetrics(families: readonly Family[], infoNames: ReadonlySet<string> = new Set()): string {
  const lines: string[] = [];
  for (const f of families) {
    const fType = f.type as unknown as string; // prom-client's typings say enum, the values are strings
    let family = f.name;
    let type = fType;
    if (fType === 'counter') family = f.name.replace(/_total$/, '');
    if (infoNames.has(f.name)) {
      family = f.name.replace(/_info$/, '');
      type = 'info';
    }
    lines.push(`# HELP ${family} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}`);
    lines.push(`# TYPE ${family} ${type}`);
    for (const s of f.values as Sample[]) {
      let name = s.metricName ?? f.name;
      if (fType === 'counter') name = `${family}_total`;
      lines.push(`${name}${formatLabels(s.labels)} ${formatNumber(s.value)}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

/** How a metric appears in JVB's JSON. */
export type JsonKind = 'number' | 'boolean' | 'info' | 'histogram';

/** `1` → `1.0`, `0.25` → `0.25`, `+Inf` → `+Inf`: Java's Double.toString as jicoco's JSON keys show it. */
function javaDouble(v: string | number): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/**
 * JVB's JSON form (jicoco `MetricsContainer.jsonString`): one key per metric of `kinds`, the name
 * without the `namespace_` prefix (counters keep `_total`; octobridge's own keep their full name),
 * the value a number, a boolean (boolean gauges), a string (info: the label's value) or, for a
 * histogram, `{"bucket_le_0.0": n, ..., "count": n, "sum": x}`. Metrics with labels are left out,
 * as JVB leaves them out; so are metrics not in `kinds` (process metrics).
 */
export function toJvbJson(families: readonly Family[], kinds: ReadonlyMap<string, JsonKind>, namespace: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const prefix = `${namespace}_`;
  for (const f of families) {
    const kind = kinds.get(f.name);
    if (!kind) continue;
    const key = (name: string): string => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
    const values = f.values as Sample[];
    if (kind === 'info') {
      const base = f.name.replace(/_info$/, '');
      const sample = values[0];
      const label = sample ? Object.values(sample.labels)[0] : undefined;
      if (label !== undefined) out[key(base)] = String(label);
      continue;
    }
    if (kind === 'histogram') {
      const h: Record<string, number> = {};
      for (const s of values) {
        const suffix = (s.metricName ?? '').slice(f.name.length + 1);
        if (suffix === 'bucket') h[`bucket_le_${javaDouble(s.labels.le ?? '')}`] = s.value;
        else h[suffix] = s.value;
      }
      out[key(f.name)] = h;
      continue;
    }
    if (values.length !== 1 || Object.keys(values[0]?.labels ?? {}).length > 0) continue;
    const v = values[0]?.value ?? 0;
    out[key(f.name)] = kind === 'boolean' ? v !== 0 : v;
  }
  return out;
}
