/**
 * Listen on `host:port` (port 0 = any free port); resolves once listening, rejects with the
 * listen error (EADDRINUSE ...).
 */
import type http from 'node:http';

export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
