/**
 * The bridge-wide `videobridge.*` settings outside any section of their own (JVB reads them in `VideobridgeConfig`,
 * `Endpoint`, `SpeechActivity` and `StatsManager`), their defaults and where each is read.
 */
import { bool, duration, HOUR, int, MINUTE, SECOND, type SettingsTable } from '../util/settings.ts';

/** See the module docstring. */
export interface VideobridgeSettings {
  /** `videobridge.stats.interval`, ms: the periodic stats and, by default, presence. */
  statsIntervalMs: number;
  /** `videobridge.initial-drain-mode`. */
  initialDrain: boolean;
  /** `videobridge.version.announce`: the version in the bridge channel's ServerHello. */
  announceVersion: boolean;
  /** `videobridge.speech-activity.recent-speakers-count`. */
  recentSpeakersCount: number;
  /** `videobridge.connection-stats.interval`, ms; 0 when `connection-stats.enabled = false` (config/config.ts). */
  connectionStatsIntervalMs: number;
  /**
   * `videobridge.stats-filter-threshold`: in a conference of more endpoints than this, an endpoint's `EndpointStats`
   * go only to the endpoints that want the sender's (JVB `Endpoint.wantsStatsFrom`).
   */
  statsFilterThreshold: number;
}

/** JVB's reference.conf values. */
export const DEFAULT_VIDEOBRIDGE: Readonly<VideobridgeSettings> = {
  statsIntervalMs: 5 * SECOND,
  initialDrain: false,
  announceVersion: false,
  recentSpeakersCount: 10,
  connectionStatsIntervalMs: 10 * SECOND,
  statsFilterThreshold: 20,
};

/** Where each is read (jvb.conf only, as JVB). */
export const VIDEOBRIDGE_SETTINGS: SettingsTable<VideobridgeSettings> = [
  { key: 'statsIntervalMs', file: 'videobridge.stats.interval', value: duration(100, 10 * MINUTE) },
  { key: 'initialDrain', file: 'videobridge.initial-drain-mode', value: bool },
  { key: 'announceVersion', file: 'videobridge.version.announce', value: bool },
  { key: 'recentSpeakersCount', file: 'videobridge.speech-activity.recent-speakers-count', value: int(0, 1000) },
  { key: 'connectionStatsIntervalMs', file: 'videobridge.connection-stats.interval', value: duration(100, HOUR) },
  { key: 'statsFilterThreshold', file: 'videobridge.stats-filter-threshold', value: int(0, 10_000_000) },
];
