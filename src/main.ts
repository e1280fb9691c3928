/**
 * `npm start`: the standalone bridge (embedded focus + page on the public port), or with the
 * focus disabled a bridge waiting for colibri2. Exits non-zero with a clear message when the
 * config is invalid or the bridge cannot start.
 */
import { startBridge, type RunningBridge } from './bridge.ts';
import { ConfigError, loadConfig, redactConfig, type Config } from './config/config.ts';
import { createLogger } from './logger.ts';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = await loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`octobridge: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  log.info({ config: redactConfig(config) }, 'effective config');
  for (const note of config.source.notes) log.debug(note);
  let bridge: RunningBridge;
  try {
    bridge = await startBridge(config, log);
  } catch (err) {
    log.fatal({ err }, 'cannot start');
    // What started before the failure (the mediasoup workers, timers) would keep the process alive, not listening.
    process.exit(1);
  }
  if (config.focus.enabled) {
    log.info(`open http://127.0.0.1:${bridge.publicPort}/<room> in two browser tabs`);
  }
  bridge.lifecycle.once('exit', (reason) => {
    log.info({ reason }, 'exiting');
    void bridge.close().finally(() => process.exit(0));
  });
  // The media engine replaces a dead worker and the conferences on it recover (docs/workers.md);
  // the last resort is to exit when, some seconds later, no worker runs at all (its replacements
  // failed too). Not on `healthy`: that is false while conferences are still being rebuilt.
  bridge.media.on('workerDied', () => {
    setTimeout(() => {
      if (bridge.media.alive().length > 0) return;
      log.fatal('no mediasoup worker is running; exiting');
      void bridge.close().finally(() => process.exit(1));
    }, 5000).unref();
  });
  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    void bridge.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  // SIGTERM is how Kubernetes and `docker stop` ask a container to go: a graceful shutdown, as JVB's
  // graceful_shutdown.sh starts one (new conferences refused with `graceful_shutdown`, the running ones kept until
  // they end or `graceful-shutdown-max-duration`, then exit 0). A second SIGTERM stops at once.
  process.once('SIGTERM', () => {
    log.info({ signal: 'SIGTERM' }, 'graceful shutdown requested');
    bridge.lifecycle.initiateShutdown(true);
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

void main();
