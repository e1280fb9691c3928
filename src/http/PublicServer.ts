/**
 * The public HTTP server (JVB's `videobridge.http-servers.public`, default port 9090 here):
 * the standalone page (`/`, `/<room>`, `/page/*`), the focus signalling socket
 * (`/focus/<room>`) and colibri-ws (`/colibri-ws/...`).
 */
import http from 'node:http';
import type { ColibriWebSocketService } from '../channel/ColibriWebSocketService.ts';
import { ROOM_NAME, type Focus } from '../focus/Focus.ts';
import type { Logger } from '../logger.ts';
import { listen } from './listen.ts';
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

/** Options of {@link startPublicServer}. */
export interface PublicServerOptions {
  host: string;
  port: number;
  focus?: Focus;
  colibriWs?: ColibriWebSocketService;
}

/** Start the server; resolves once listening. `port` 0 picks a free port (see `server.address()`). */
export async function startPublicServer(opts: PublicServerOptions, log: Logger): Promise<http.Server> {
  const files = opts.focus ? loadPageFiles() : new Map<string, StaticFile>();
  const index = files.get('/page/index.html');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, `method ${req.method} not allowed`);
    const head = req.method === 'HEAD';
    const file = files.get(url.pathname);
    if (file) return sendFile(res, file, head);
    if (!index) return sendError(res, 404, 'not found');
    if (url.pathname === '/') return sendFile(res, index, head);
    const segments = url.pathname.slice(1).split('/');
    if (segments.length === 1 || (segments.length === 2 && segments[1] === '')) {
      let room: string;
      try {
        room = decodeURIComponent(segments[0] ?? '');
      } catch {
        return sendError(res, 400, 'invalid room name');
      }
      if (!ROOM_NAME.test(room)) return sendError(res, 400, 'invalid room name: use 1-64 letters, digits, _ . -');
      return sendFile(res, index, head);
    }
    return sendError(res, 404, 'not found');
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (opts.colibriWs?.handles(req.url)) return opts.colibriWs.handleUpgrade(req, socket, head);
    if (opts.focus?.handles(req.url)) return opts.focus.handleUpgrade(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await listen(server, opts.port, opts.host);
  log.info({ address: server.address() }, 'public HTTP server listening');
  return server;
}
