/**
 * What one client may cost the bridge (`octobridge.limits.*`): the limits, their defaults and names.
 * JVB itself has none of these (Jicofo spreads load by stress); octobridge's public port also carries
 * the embedded focus, which anyone who can reach it may use.
 */
import { int, num, type SettingsTable } from '../util/settings.ts';

/** A limit's name, as in `octobridge_limit_exceeded_total{limit}`. */
export type LimitName = 'joins_per_address' | 'conferences' | 'endpoints' | 'source_updates' | 'channel_messages' | 'focus_messages';

/** `octobridge.limits.*`; 0 turns a limit off. */
export interface BridgeLimitsConfig {
  /** Joins through the embedded focus per client address per minute (burst: the same number). */
  joinsPerAddressPerMinute: number;
  /** Conferences on this bridge; a colibri2 create beyond it is refused (`service-unavailable`). */
  maxConferences: number;
  /** Endpoints on this bridge; a colibri2 endpoint create beyond it is refused (`service-unavailable`). */
  maxEndpoints: number;
  /**
   * Source updates (and repeated session-accepts) a focus participant may apply per second (burst 2 s' worth);
   * a faster client's updates wait, and each one superseded by a newer one while waiting is dropped.
   */
  sourceUpdatesPerSecond: number;
  /** Bridge-channel messages per endpoint per second (burst 2 s' worth); the excess is dropped. */
  channelMessagesPerSecond: number;
}

/**
 * Defaults: far above what a Jitsi client does (lib-jitsi-meet sends a handful of bridge-channel messages per
 * second at most: constraints on a layout change, EndpointStats every few seconds, chat-like EndpointMessages),
 * far below what stalls a receiver. 60 joins a minute from one address lets a whole office behind one NAT in.
 */
export const DEFAULT_LIMITS: Readonly<BridgeLimitsConfig> = {
  joinsPerAddressPerMinute: 60,
  maxConferences: 2000,
  maxEndpoints: 4000,
  sourceUpdatesPerSecond: 5,
  channelMessagesPerSecond: 50,
};

/** Where each limit is set: `octobridge.limits.*` in jvb.conf, or its environment variable. */
export const LIMITS_SETTINGS: SettingsTable<BridgeLimitsConfig> = [
  { key: 'joinsPerAddressPerMinute', file: 'octobridge.limits.joins-per-address', env: 'OCTOBRIDGE_JOINS_PER_ADDRESS', value: int(0, 1_000_000) },
  { key: 'maxConferences', file: 'octobridge.limits.max-conferences', env: 'OCTOBRIDGE_MAX_CONFERENCES', value: int(0, 10_000_000) },
  { key: 'maxEndpoints', file: 'octobridge.limits.max-endpoints', env: 'OCTOBRIDGE_MAX_ENDPOINTS', value: int(0, 10_000_000) },
  {
    key: 'sourceUpdatesPerSecond',
    file: 'octobridge.limits.source-updates-per-second',
    env: 'OCTOBRIDGE_SOURCE_UPDATES_PER_SECOND',
    value: num(0, 10_000),
  },
  {
    key: 'channelMessagesPerSecond',
    file: 'octobridge.limits.channel-messages-per-second',
    env: 'OCTOBRIDGE_CHANNEL_MESSAGES_PER_SECOND',
    value: num(0, 1_000_000),
  },
];

/** Called each time a limit bites (one refused or dropped item). */
export type OnLimit = (limit: LimitName) => void;
