/**
 * The private HTTP server (JVB's `videobridge.http-servers.private`, default 127.0.0.1:8080):
 * `GET /about/health` (200 empty body when healthy, 500 with the reason when not) and
 * `GET /about/version` (`{name, version, os}`, jicoco `Version.java`). The REST/ops issue adds
 * /colibri/stats, drain, shutdown and /metrics here.
 */
import http from 'node:http';
import os from 'node:os';
import type { Logger } from '../logger.ts';
import { listen } from './listen.ts';
import { sendError } from './PublicServer.ts';

/** Options of {@link startPrivateServer}. */
export interface PrivateServerOptions {
  host: string;
  port: number;
  version: string;
  /** Returns undefined when healthy, else the reason. */
  healthCheck: () => string | undefined;
}

/** Start the server; resolves once listening. */
export async function startPrivateServer(opts: PrivateServerOptions, log: Logger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/about/health' || url.pathname === '/about/version') {
      if (req.method !== 'GET') return sendError(res, 405, `method ${req.method} not allowed`);
    }
    if (url.pathname === '/about/health') {
      const problem = opts.healthCheck();
      if (problem) return sendError(res, 500, problem);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 0 });
      return res.end();
    }
    if (url.pathname === '/about/version') {
      const body = JSON.stringify({ name: 'octobridge', version: opts.version, os: os.type() });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      return res.end(body);
    }
    return sendError(res, 404, 'not found');
  });
  await listen(server, opts.port, opts.host);
  log.info({ address: server.address() }, 'private HTTP server listening');
  return server;
}
