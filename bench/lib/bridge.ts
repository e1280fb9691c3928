/**
 * Start a real octobridge in this process, on free ports, bound to loopback: for tests and benches.
 */
import { startBridge, type RunningBridge } from '../../src/bridge.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';

/**
 * Env overrides on top of the test defaults (free ports, loopback, quiet logs); `file`: a
 * jvb.conf-style config file (none by default, so a host's /etc/jitsi/videobridge/jvb.conf is ignored).
 */
export async function startTestBridge(env: Record<string, string> = {}, opts: { file?: string } = {}): Promise<RunningBridge> {
  const config = await loadConfig(
    {
      JVB_PORT: '0',
      // One worker unless a test asks for a pool (each test bridge would start one per core).
      OCTOBRIDGE_WORKERS: '1',
      OCTOBRIDGE_PUBLIC_PORT: '0',
      OCTOBRIDGE_PUBLIC_HOST: '127.0.0.1',
      OCTOBRIDGE_PRIVATE_PORT: '0',
      OCTOBRIDGE_LISTEN_IP: '127.0.0.1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
      ...env,
    },
    { file: opts.file ?? null },
  );
  return startBridge(config, createLogger(config.log.level, { pretty: false }));
}
