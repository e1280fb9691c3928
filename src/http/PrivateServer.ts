/**
 * The private HTTP server (JVB's `videobridge.http-servers.private`, default 127.0.0.1:8080), with
 * JVB's REST API (jitsi-videobridge `rest/root/...`, jicoco `Health.java`/`Version.java`,
 * as below):
 *
 * | route | answer |
 * |---|---|
 * | `GET /about/health` | 200 with an empty body when healthy; 500 `{"error": reason}` when not; with WireGuard managed, both carry `"wireguard": {...}` (peers, handshake ages, RTT); when one UDP port for every worker was configured and the kernel refused it, `"media": {"udpPortMode": "per-worker", "problem": ...}` |
 * | `GET /about/version` | `{"name","version","os"}` |
 * | `GET /colibri/stats` | the stats snapshot (JVB's names and units) |
 * | `GET /colibri/drain` | `{"drain": bool}` |
 * | `POST /colibri/drain/enable`, `/disable` | 200 |
 * | `POST /colibri/shutdown` `{"graceful-shutdown": true}` | 200; graceful or immediate (only when `rest.shutdown` is enabled, as JVB) |
 * | `GET /metrics` | Prometheus text / OpenMetrics / JSON by `Accept` |
 * | `POST /colibri/v2/conferences`, `PATCH /colibri/v2/conferences/{meetingId}`, `GET …/{meetingId}/dominant-speaker-identification` | colibri2 as JSON (only when `apis.rest.enabled`, as JVB; colibri2Rest.ts) |
 *
 * A disabled module's routes are 404. A wrong method is 405, a bad body 400, a request target that does not
 * parse 400, each with a JSON `{"error": ...}` body; a handler that fails answers 500 (logged once per cause)
 * and the server goes on. `/debug/*` exists only with `rest.debug` on (off by default).
 */
import http from 'node:http';
import os from 'node:os';
import type { Lifecycle } from '../conference/Lifecycle.ts';
import type { Logger } from '../logger.ts';
import type { StatsSnapshot } from '../metrics/StatsCollector.ts';
import { BodyTooLarge, readBody, sendJson } from './body.ts';
import { handleColibri2Rest, isColibri2RestPath, type Colibri2RestBackend } from './colibri2Rest.ts';
import { clip, RateLimitedLog } from '../limits/RateLimitedLog.ts';
import { listen } from './listen.ts';
import { parseRequestTarget, safeDecode } from './requestTarget.ts';
import { sendError } from './PublicServer.ts';

/** Which REST modules are on (`videobridge.rest.<name>.enabled`; JVB: all on but shutdown). */
export interface RestModules {
  health: boolean;
  version: boolean;
  drain: boolean;
  shutdown: boolean;
  prometheus: boolean;
  /** colibri2 REST (`videobridge.apis.rest.enabled`, off by default as in JVB). */
  colibri?: boolean;
  /** `/debug/*` (`videobridge.rest.debug.enabled`): fault injection for the torture harness. */
  debug?: boolean;
}

/** Options of {@link startPrivateServer}. */
export interface PrivateServerOptions {
  host: string;
  port: number;
  version: string;
  modules: RestModules;
  /** Returns undefined when healthy, else the reason. */
  healthCheck: () => string | undefined;
  /**
   * Extra fields for the health answer (`{"wireguard": {...}}`), undefined for none: a healthy
   * answer then has this JSON body instead of an empty one, an unhealthy one has them beside `error`.
   */
  healthDetail?: () => Record<string, unknown> | undefined;
  /** The current stats (StatsCollector.snapshot). */
  stats: () => StatsSnapshot;
  lifecycle: Lifecycle;
  /** Renders /metrics for an Accept header (metrics/Metrics.ts). */
  metrics?: (accept: string | undefined) => Promise<{ contentType: string; body: string }>;
  /** The bridge behind the colibri2 REST routes (served when `modules.colibri` is on). */
  colibri?: Colibri2RestBackend;
  /**
   * Debug fault injection (`modules.debug`): a relay outage of `ms` on every conference's relay `relayId`;
   * resolves to how many relays it hit (0 = unknown relay).
   */
  relayOutage?: (relayId: string, ms: number) => Promise<number>;
}

/** `/debug/relays/{relayId}/outage`. */
const RELAY_OUTAGE_PATH = /^\/debug\/relays\/([^/]+)\/outage$/;

/** Largest accepted request body, bytes. */
const MAX_BODY = 16 * 1024;

/**
 * `{"graceful-shutdown": true|false}` (the official graceful_shutdown.sh sends the string
 * `"true"`, which JVB's Jackson also accepts). Returns the flag or an error text.
 */
export function parseShutdownBody(text: string): boolean | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: 'body is not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'body must be a JSON object' };
  const g = (v as Record<string, unknown>)['graceful-shutdown'];
  if (g === true || g === 'true') return true;
  if (g === false || g === 'false') return false;
  return { error: '"graceful-shutdown" must be true or false' };
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** Start the server; resolves once listening. */
export async function startPrivateServer(opts: PrivateServerOptions, log: Logger): Promise<http.Server> {
  const m = opts.modules;
  const routes = new Map<string, Partial<Record<string, Handler>>>();
  const route = (enabled: boolean, method: string, path: string, handler: Handler): void => {
    if (!enabled) return;
    routes.set(path, { ...routes.get(path), [method]: handler });
  };
  route(m.health, 'GET', '/about/health', (_req, res) => {
    const problem = opts.healthCheck();
    const detail = opts.healthDetail?.();
    if (detail) return sendJson(res, problem ? 500 : 200, problem ? { error: problem, ...detail } : detail);
    if (problem) return sendError(res, 500, problem);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 0 });
    res.end();
  });
  route(m.version, 'GET', '/about/version', (_req, res) => sendJson(res, 200, { name: 'octobridge', version: opts.version, os: os.type() }));
  route(true, 'GET', '/colibri/stats', (_req, res) => sendJson(res, 200, opts.stats()));
  route(m.drain, 'GET', '/colibri/drain', (_req, res) => sendJson(res, 200, { drain: opts.lifecycle.drain }));
  for (const [path, on] of [
    ['/colibri/drain/enable', true],
    ['/colibri/drain/disable', false],
  ] as const) {
    route(m.drain, 'POST', path, (_req, res) => {
      opts.lifecycle.setDrain(on);
      sendJson(res, 200, { drain: opts.lifecycle.drain });
    });
  }
  route(m.shutdown, 'POST', '/colibri/shutdown', async (req, res) => {
    let text: string;
    try {
      text = await readBody(req, MAX_BODY);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      res.setHeader('Connection', 'close');
      return sendError(res, 413, err.message);
    }
    const graceful = parseShutdownBody(text);
    if (typeof graceful !== 'boolean') return sendError(res, 400, graceful.error);
    log.info({ graceful }, 'shutdown requested over REST');
    sendJson(res, 200, { 'graceful-shutdown': graceful });
    // Answer first, then act (a plain shutdown exits the process).
    setImmediate(() => opts.lifecycle.initiateShutdown(graceful));
  });
  const metrics = opts.metrics;
  route(m.prometheus && metrics !== undefined, 'GET', '/metrics', async (req, res) => {
    const out = await metrics!(req.headers.accept);
    res.writeHead(200, { 'Content-Type': out.contentType, 'Content-Length': Buffer.byteLength(out.body) });
    res.end(out.body);
  });

  const limitedLog = new RateLimitedLog(log);
  const failed = (err: unknown, req: http.IncomingMessage, res: http.ServerResponse): void => {
    limitedLog.error({ method: req.method, target: req.url ?? '', error: err instanceof Error ? err.message : String(err) }, 'REST handler failed');
    if (!res.headersSent) sendError(res, 500, 'internal error');
    else res.destroy();
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const target = parseRequestTarget(req.url);
    if (!target) return sendError(res, 400, 'bad request target');
    const path = target.pathname.replace(/\/+$/, '') || '/';
    const colibri = opts.colibri;
    if (m.colibri && colibri && isColibri2RestPath(path)) {
      return void handleColibri2Rest(colibri, req, res, path, log).catch((err: unknown) => failed(err, req, res));
    }
    const outage = m.debug && opts.relayOutage ? RELAY_OUTAGE_PATH.exec(path) : null;
    if (outage && opts.relayOutage) {
      const relayId = safeDecode(outage[1] as string);
      if (relayId === undefined) return sendError(res, 400, 'bad relay id');
      return void handleRelayOutage(opts.relayOutage, relayId, target.searchParams, req, res, log).catch((err: unknown) => failed(err, req, res));
    }
    const handlers = routes.get(path);
    if (!handlers) return sendError(res, 404, 'not found');
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const handler = handlers[method];
    if (!handler) {
      res.setHeader('Allow', Object.keys(handlers).join(', '));
      return sendError(res, 405, `method ${req.method} not allowed`);
    }
    Promise.resolve(handler(req, res)).catch((err: unknown) => failed(err, req, res));
  };
  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      failed(err, req, res);
    }
  });
  await listen(server, opts.port, opts.host);
  log.info({ address: server.address() }, 'private HTTP server listening');
  return server;
}

/**
 * `POST /debug/relays/{relayId}/outage?ms=N` (1..60000, default 5000): inject a relay outage (torture harness
 * `--drop-relay-at`). 200 `{"relays": n}`; 404 for an unknown relay; 400 for a bad `ms`; 405 for another method.
 */
async function handleRelayOutage(
  inject: (relayId: string, ms: number) => Promise<number>,
  relayId: string,
  query: URLSearchParams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  log: Logger,
): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return sendError(res, 405, `method ${req.method} not allowed`);
  }
  const text = query.get('ms') ?? '5000';
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) return sendError(res, 400, 'ms must be an integer in 1..60000');
  try {
    const relays = await inject(relayId, ms);
    if (relays === 0) return sendError(res, 404, 'no such relay');
    log.warn({ relayId, ms, relays }, 'relay outage injected over REST');
    sendJson(res, 200, { relays });
  } catch (err) {
    log.error({ err, relayId: clip(relayId) }, 'relay outage failed');
    sendError(res, 500, 'internal error');
  }
}
