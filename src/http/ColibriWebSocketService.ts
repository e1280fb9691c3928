/**
 * colibri-ws: the bridge channel over a WebSocket at
 * `/colibri-ws/<server-id>/<conference-id>/<endpoint-id>?pwd=<password>` on the public HTTP
 * server (jitsi-videobridge `ColibriWebSocketService.kt`, `ColibriWebSocketServlet.java`):
 * a path not under /colibri-ws/ or a wrong server id → 404; unknown conference/endpoint or a
 * wrong pwd → 403. Keepalive pings every 15 s; a socket silent for 60 s is closed.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import { RateLimitedLog } from '../limits/RateLimitedLog.ts';
import { rejectUpgrade, type RequestTarget } from './requestTarget.ts';

/** Path prefix of endpoint sockets. */
export const COLIBRI_WS_PREFIX = '/colibri-ws/';

/** What the service needs to find an endpoint's channel. */
export interface ColibriWsTarget {
  /** The per-endpoint secret advertised in the URL. */
  password: string;
  attach(ws: WebSocket): void;
}

/** Looks up a target by JVB's internal conference id and the endpoint id. */
export type ColibriWsLookup = (conferenceId: string, endpointId: string) => ColibriWsTarget | undefined;

/** Options of {@link ColibriWebSocketService}. */
export interface ColibriWsOptions {
  serverId: string;
  /** `videobridge.websockets.keepalive-ping-interval`, ms. */
  pingIntervalMs?: number;
  /** `videobridge.websockets.idle-timeout`, ms. */
  idleTimeoutMs?: number;
}

function samePassword(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** See the module docstring. Attach with `server.on('upgrade', (req, sock, head) => svc.handleUpgrade(...))`. */
export class ColibriWebSocketService {
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: true, maxPayload: 1 << 20 });
  readonly #lookup: ColibriWsLookup;
  readonly #opts: Required<ColibriWsOptions>;
  readonly #log: RateLimitedLog;
  readonly #alive = new WeakMap<WebSocket, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(lookup: ColibriWsLookup, opts: ColibriWsOptions, log: Logger) {
    this.#lookup = lookup;
    this.#opts = { pingIntervalMs: 15_000, idleTimeoutMs: 60_000, ...opts };
    this.#log = new RateLimitedLog(log);
    this.#timer = setInterval(() => this.#keepalive(), this.#opts.pingIntervalMs);
    this.#timer.unref();
  }

  /** Whether this service owns the request path (the parsed pathname). */
  handles(pathname: string): boolean {
    return pathname.startsWith(COLIBRI_WS_PREFIX);
  }

  /**
   * Answer an HTTP upgrade for a colibri-ws path (`target` as the server parsed it): 404/403 as JVB, or hand the
   * socket to the endpoint. The ids are compared as sent (JVB's are `[0-9a-f]` and `[A-Za-z0-9_.~-]`), never decoded.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget): void {
    const ids = target.pathname.slice(COLIBRI_WS_PREFIX.length).split('/');
    if (ids.length !== 3 || ids.some((s) => s === '')) return rejectUpgrade(socket, 404, 'invalid path');
    const [serverId, conferenceId, endpointId] = ids as [string, string, string];
    if (serverId !== this.#opts.serverId && serverId !== encodeURIComponent(this.#opts.serverId)) return rejectUpgrade(socket, 404, 'server ID mismatch');
    const endpoint = this.#lookup(conferenceId, endpointId);
    const pwd = target.searchParams.get('pwd') ?? '';
    if (!endpoint || !samePassword(pwd, endpoint.password)) {
      this.#log.warn({ conference: conferenceId, endpoint: endpointId, found: Boolean(endpoint) }, 'colibri-ws refused');
      return rejectUpgrade(socket, 403, 'forbidden');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#alive.set(ws, Date.now());
      ws.on('pong', () => this.#alive.set(ws, Date.now()));
      ws.on('message', () => this.#alive.set(ws, Date.now()));
      endpoint.attach(ws);
    });
  }

  #keepalive(): void {
    const now = Date.now();
    for (const ws of this.#wss.clients) {
      if (now - (this.#alive.get(ws) ?? now) > this.#opts.idleTimeoutMs) {
        ws.terminate();
        continue;
      }
      ws.ping();
    }
  }

  /** Close every socket (1001) and stop the keepalive. */
  close(): void {
    clearInterval(this.#timer);
    for (const ws of this.#wss.clients) ws.close(1001, 'bridge shutting down');
    this.#wss.close();
  }
}
