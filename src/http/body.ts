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
 * The request body as UTF-8 text.
 * @throws BodyTooLarge as soon as `Content-Length` or the bytes received exceed `limit`; the rest of the body is
 *   then read and discarded, so the 413 can still be written (send it with `Connection: close`).
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): void => {
      req.off('data', onData);
      req.resume();
      reject(new BodyTooLarge(limit));
    };
    let size = 0;
    const chunks: Buffer[] = [];
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) return tooLarge();
      chunks.push(c);
    };
    if (Number(req.headers['content-length']) > limit) return tooLarge();
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Answer `status` with `value` as JSON. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
