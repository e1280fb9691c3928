/**
 * Request bodies and JSON answers for the HTTP servers.
 */
import type http from 'node:http';

/** A request body over the limit (answer 413). */
export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`body larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * After a body went over its limit, how much more of it is read and discarded before the 413 is
 * answered (bytes after the limit, and ms since the limit was crossed). A client that writes its
 * whole body before it reads the answer then finishes writing and reads the 413; closing the
 * connection on unread data would reset it instead (RFC 9112 §9.6: a server closing the connection
 * should not close both halves while the client may still be sending). Beyond these, the 413 goes
 * out at once and the connection closes.
 */
export const DRAIN_BYTES = 16 * 1024 * 1024;
export const DRAIN_MS = 10_000;

/**
 * The request body as UTF-8 text.
 * @param limit the largest body accepted, bytes
 * @throws BodyTooLarge when `Content-Length` or the bytes received exceed `limit`: once the rest of
 *   the body has been read and discarded (up to {@link DRAIN_BYTES} / {@link DRAIN_MS}; a declared
 *   `Content-Length` beyond that throws at once), so the 413 is written to a client that is done
 *   sending (send it with `Connection: close`).
 * @throws Error on a request stream error (the client went away).
 */
export function readBody(req: http.IncomingMessage, limit: number, drain = { bytes: DRAIN_BYTES, ms: DRAIN_MS }): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error, text?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(text ?? '');
    };
    let size = 0;
    let over = false;
    const chunks: Buffer[] = [];
    const tooLarge = (): void => {
      over = true;
      chunks.length = 0;
      timer = setTimeout(() => finish(new BodyTooLarge(limit)), drain.ms);
      timer.unref();
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (!over && size > limit) tooLarge();
      if (over) {
        if (size > limit + drain.bytes) finish(new BodyTooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => finish(over ? new BodyTooLarge(limit) : undefined, Buffer.concat(chunks).toString('utf8')));
    req.on('error', (err) => finish(err));
    const declared = Number(req.headers['content-length']);
    if (declared > limit + drain.bytes) finish(new BodyTooLarge(limit));
    else if (declared > limit) tooLarge();
  });
}

/** Answer `status` with `value` as JSON. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
