/**
 * Request targets and upgrade refusals for the HTTP servers, parsed defensively: everything here comes
 * from whoever reaches the port (or from any web page a user of the bridge visits), so nothing throws.
 */
import type { Duplex } from 'node:stream';

/** Longest request target accepted, characters (Node's own header limit is 16 KiB). */
export const MAX_TARGET_LENGTH = 4096;

/** A parsed request target: the path (percent-encoded, as sent) and the query. */
export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

/**
 * Parse an origin-form request target (`/path?query`, RFC 9112 §3.2.1). Returns undefined for anything
 * else: an absolute or authority form, `//host...` (which WHATWG URL parsing would read as a host), a
 * target over {@link MAX_TARGET_LENGTH}, or one URL parsing refuses.
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  if (raw === undefined || raw.length > MAX_TARGET_LENGTH || !raw.startsWith('/') || raw.startsWith('//')) return undefined;
  try {
    const url = new URL(raw, 'http://localhost');
    return { pathname: url.pathname, searchParams: url.searchParams };
  } catch {
    return undefined;
  }
}

/** `decodeURIComponent` that answers undefined instead of throwing `URIError` (`%`, `%FF`, lone surrogates). */
export function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answer an HTTP upgrade request with `status` and a plain-text `text`, and close the socket. */
export function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.destroyed) return;
  const body = Buffer.from(text, 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${text}`,
  );
}
