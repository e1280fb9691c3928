/**
 * `node src/main.ts` that cannot start: with its public port taken, the process logs why and exits 1 instead of
 * staying up, not listening, on the mediasoup workers and timers it had started (an orchestrator restarts an exited
 * container; it only finds a hung one by its health check).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/config.ts';

describe('start-up failure', () => {
  const taken = net.createServer();
  afterAll(() => new Promise<void>((r) => taken.close(() => r())));

  it('exits 1 with the reason when the public port is in use', async () => {
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    const proc = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts')], {
      env: {
        ...process.env,
        OCTOBRIDGE_PUBLIC_HOST: '127.0.0.1',
        OCTOBRIDGE_PUBLIC_PORT: String(port),
        OCTOBRIDGE_PRIVATE_HOST: '127.0.0.1',
        OCTOBRIDGE_PRIVATE_PORT: '0',
        OCTOBRIDGE_LISTEN_IP: '127.0.0.1',
        JVB_PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`still running 20 s after start; output: ${output}`));
      }, 20_000);
      proc.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(1);
    expect(output).toContain('cannot start');
    expect(output).toContain('EADDRINUSE');
  }, 30_000);
});
