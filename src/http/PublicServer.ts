/**
 * The public HTTP server (JVB's `videobridge.http-servers.public`, default port 9090 here):
 * the standalone page (`/`, `/<room>`, `/page/*`), the focus signalling socket
 * (`/focus/<room>`) and colibri-ws (`/colibri-ws/...`).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.ts';
import { RateLimitedLog } from '../limits/RateLimitedLog.ts';
import { listen } from './listen.ts';
import { parseRequestTarget, rejectUpgrade, safeDecode, type RequestTarget } from './requestTarget.ts';
import { loadPageFiles, type StaticFile } from './staticPage.ts';

/** Write a JSON error body with a 4xx/5xx status. */
export function sendError(res: http.ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendFile(res: http.ServerResponse, file: StaticFile, head: boolean): void {
  res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, 'Cache-Control': 'no-cache' });
  res.end(head ? undefined : file.body);
}

/** A WebSocket service on the public port (colibri-ws, the focus signalling socket). */
export interface UpgradeService {
  /** Whether `pathname` (as parsed, still percent-encoded) is one of its paths. */
  handles(pathname: string): boolean;
  /** Upgrade the request, or reject it on `socket` (see `rejectUpgrade`). May throw: the server answers 500. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget): void;
}

/** The focus behind the standalone page: its socket, and which rooms the page serves. */
export interface PageFocus extends UpgradeService {
  /** Whether `room` (percent-decoded) is a valid room name: `/<room>` serves the page. */
  isRoomName(room: string): boolean;
}

/** Options of {@link startPublicServer}. */
export interface PublicServerOptions {
  host: string;
  port: number;
  /** The embedded focus: with it the page is served (`/`, `/<room>`, `/page/*`). */
  focus?: PageFocus;
  colibriWs?: UpgradeService;
}

/**
 * Start the server; resolves once listening. `port` 0 picks a free port (see `server.address()`).
 * Every request and upgrade is contained: a target that does not parse gets 400, a handler that throws gets 500
 * (or its socket closed), logged once per cause with the method and a clipped target, and the server goes on.
 */
export async function startPublicServer(opts: PublicServerOptions, log: Logger): Promise<http.Server> {
  const files = opts.focus ? loadPageFiles() : new Map<string, StaticFile>();
  const index = files.get('/page/index.html');
  const limitedLog = new RateLimitedLog(log);
  const failed = (err: unknown, req: http.IncomingMessage, what: string): void =>
    limitedLog.error({ method: req.method, target: req.url ?? '', error: err instanceof Error ? err.message : String(err) }, what);
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const target = parseRequestTarget(req.url);
    if (!target) return sendError(res, 400, 'bad request target');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'method not allowed');
    const head = req.method === 'HEAD';
    const file = files.get(target.pathname);
    if (file) return sendFile(res, file, head);
    if (!index) return sendError(res, 404, 'not found');
    if (target.pathname === '/') return sendFile(res, index, head);
    const segments = target.pathname.slice(1).split('/');
    if (segments.length === 1 || (segments.length === 2 && segments[1] === '')) {
      const room = safeDecode(segments[0] ?? '');
      if (room === undefined || !opts.focus?.isRoomName(room)) return sendError(res, 400, 'invalid room name: use 1-64 letters, digits, _ . -');
      return sendFile(res, index, head);
    }
    return sendError(res, 404, 'not found');
  };
  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      failed(err, req, 'public request failed');
      if (!res.headersSent) sendError(res, 500, 'internal error');
      else res.destroy();
    }
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const target = parseRequestTarget(req.url);
      if (!target) return rejectUpgrade(socket, 400, 'bad request target');
      if (opts.colibriWs?.handles(target.pathname)) return opts.colibriWs.handleUpgrade(req, socket, head, target);
      if (opts.focus?.handles(target.pathname)) return opts.focus.handleUpgrade(req, socket, head, target);
      rejectUpgrade(socket, 404, 'not found');
    } catch (err) {
      failed(err, req, 'public upgrade failed');
      rejectUpgrade(socket, 500, 'internal error');
    }
  });
  await listen(server, opts.port, opts.host);
  log.info({ address: server.address() }, 'public HTTP server listening');
  return server;
}
