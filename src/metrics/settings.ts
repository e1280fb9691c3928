/**
 * `octobridge.metrics.*`: how Node's own process metrics are sampled (JVB, on the JVM, has no counterpart).
 */
import { duration, SECOND, type SettingsTable } from '../util/settings.ts';

/** See the module docstring. */
export interface MetricsSettings {
  /**
   * Period of the event-loop delay sampler behind `nodejs_eventloop_lag_*_seconds`, ms (prom-client
   * `collectDefaultMetrics({ eventLoopMonitoringPrecision })`, Node `perf_hooks.monitorEventLoopDelay({ resolution })`).
   * Each sample is a timer that wakes the event loop: prom-client's 10 ms cost an idle bridge 0.5 % of a core on the
   * 2-core test VM, 100 ms 0.1 % (docs/performance.md).
   */
  eventLoopResolutionMs: number;
}

/** octobridge's defaults. */
export const DEFAULT_METRICS: Readonly<MetricsSettings> = { eventLoopResolutionMs: 100 };

/** Where each is read. */
export const METRICS_SETTINGS: SettingsTable<MetricsSettings> = [
  {
    key: 'eventLoopResolutionMs',
    file: 'octobridge.metrics.event-loop-resolution',
    env: 'OCTOBRIDGE_EVENT_LOOP_RESOLUTION_MS',
    value: duration(1, 10 * SECOND),
  },
];
