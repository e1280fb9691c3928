/**
 * One endpoint's bridge channel over either transport JVB offers: the in-band SCTP data channel
 * the client opens with DCEP (`'JVB data channel'`, protocol `http://jitsi.org/protocols/colibri`),
 * or colibri-ws. Same JSON messages on both (jitsi-videobridge `EndpointMessageTransport.java`).
 *
 * Bytes become typed messages here, once: malformed input is logged with the endpoint id
 * (rate-limited, never the payload), counted, and dropped; it changes nothing. The endpoint's own
 * messages are limited to `messagesPerSecond` (burst two seconds' worth) before they are parsed, so a
 * flooding client pays on its own channel, not on the channels its messages would be relayed to.
 * A handler that throws on one message costs that message only.
 */
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import type { OnLimit } from '../limits/limits.ts';
import { RateLimitedLog } from '../limits/RateLimitedLog.ts';
import { TokenBucket } from '../limits/TokenBucket.ts';
import { bool, type SettingsTable } from '../util/settings.ts';
import { dcepAck, parseDcep, PPID } from './dcep.ts';
import { parseBridgeChannelMessage, serializeBridgeChannelMessage, type BridgeChannelMessage } from './messages.ts';

/** What the SCTP side needs from the media layer (implemented by media's MediaEndpoint). */
export interface SctpStream {
  on(event: 'sctpMessage', listener: (payload: Buffer, ppid: number) => void): unknown;
  off(event: 'sctpMessage', listener: (payload: Buffer, ppid: number) => void): unknown;
  sendSctp(payload: Buffer, ppid: number): boolean;
}

/** `videobridge.sctp`: bridge channels over SCTP data channels (JVB `SctpConfig`). */
export interface SctpSettings {
  enabled: boolean;
}

/** JVB's default. */
export const DEFAULT_SCTP: Readonly<SctpSettings> = { enabled: true };

/** Where it is read (docker-jitsi-meet's `ENABLE_SCTP`). */
export const SCTP_SETTINGS: SettingsTable<SctpSettings> = [{ key: 'enabled', file: 'videobridge.sctp.enabled', env: 'ENABLE_SCTP', value: bool }];

/**
 * A relay's message stream to the other bridge (media/MediaRelay.ts): SCTP pre-negotiated on both sides (no DCEP),
 * text in and out; `send` queues while the association is down.
 */
export interface RelayStream {
  on(event: 'message', listener: (text: string) => void): unknown;
  off(event: 'message', listener: (text: string) => void): unknown;
  send(text: string): void;
  readonly open: boolean;
}

/** Which transport carries the channel. */
export type ChannelKind = 'sctp' | 'ws';

interface ChannelEvents {
  /** The channel became usable (DCEP OPEN acknowledged, or a websocket attached). */
  open: [ChannelKind];
  message: [BridgeChannelMessage];
  /** Any valid or unknown message arrived (activity, for expiry). */
  activity: [];
}

/** Counters, for /colibri/stats and /metrics (messages; `received` counts valid and unknown ones). */
export interface ChannelCounters {
  received: number;
  sent: number;
  malformed: number;
  unknown: number;
  /** `received` / `sent` split by transport (JVB's data_channel_* and colibri_web_socket_* metrics). */
  sctpReceived: number;
  sctpSent: number;
  wsReceived: number;
  wsSent: number;
  /** colibri-ws closes of the endpoint's socket: 1000, 1001 or 1005 (JVB's "normal"), or any other code. */
  wsCloseNormal: number;
  wsCloseAbnormal: number;
  /** colibri-ws socket errors. */
  wsErrors: number;
  /** Messages dropped over the per-endpoint rate limit (not counted in `received`). */
  rateLimited: number;
  /** Messages whose handler failed (logged; the channel goes on). */
  failed: number;
}

/** Options of {@link BridgeChannel}. */
export interface BridgeChannelOptions {
  /** The endpoint's messages per second (burst: two seconds' worth); 0 = no limit (default). */
  messagesPerSecond?: number;
  /** Told of each message dropped over the limit. */
  onLimit?: OnLimit;
  /** Largest message accepted, bytes (default: an endpoint's, `MAX_BRIDGE_CHANNEL_MESSAGE_BYTES`). */
  maxMessageBytes?: number;
}

/** See the module docstring. */
export class BridgeChannel extends EventEmitter<ChannelEvents> {
  readonly endpointId: string;
  readonly counters: ChannelCounters = {
    received: 0,
    sent: 0,
    malformed: 0,
    unknown: 0,
    sctpReceived: 0,
    sctpSent: 0,
    wsReceived: 0,
    wsSent: 0,
    wsCloseNormal: 0,
    wsCloseAbnormal: 0,
    wsErrors: 0,
    rateLimited: 0,
    failed: 0,
  };
  readonly #log: Logger;
  readonly #limitedLog: RateLimitedLog;
  readonly #bucket: TokenBucket;
  readonly #onLimit: OnLimit | undefined;
  readonly #maxMessageBytes: number | undefined;
  #sctp?: SctpStream;
  #sctpOpen = false;
  #relay?: RelayStream;
  #ws?: WebSocket;
  readonly #replaced = new WeakSet<WebSocket>();
  #closed = false;
  readonly #onSctp = (payload: Buffer, ppid: number): void => this.#handleSctp(payload, ppid);
  readonly #onRelayText = (text: string): void => this.#handleText(text, 'sctp');

  constructor(endpointId: string, log: Logger, opts: BridgeChannelOptions = {}) {
    super();
    this.endpointId = endpointId;
    this.#log = log;
    this.#limitedLog = new RateLimitedLog(log);
    const rate = opts.messagesPerSecond ?? 0;
    this.#bucket = new TokenBucket(rate, Math.max(1, 2 * rate));
    this.#onLimit = opts.onLimit;
    this.#maxMessageBytes = opts.maxMessageBytes;
  }

  /**
   * Be a relay's channel to the other bridge (counted as SCTP): messages are parsed and counted as an endpoint's,
   * and sent on `stream`, which queues them while it is down.
   */
  attachRelay(stream: RelayStream): void {
    this.#relay = stream;
    stream.on('message', this.#onRelayText);
  }

  /** Listen on the endpoint's SCTP bridge-channel stream. */
  attachSctp(stream: SctpStream): void {
    this.#sctp = stream;
    stream.on('sctpMessage', this.#onSctp);
  }

  /**
   * Use a colibri-ws socket. A new socket replaces the old one, which is closed with 1000
   * "replaced" (http/ColibriWebSocketService.ts). The bridge sends ServerHello on open (via `open`).
   */
  attachWebSocket(ws: WebSocket): void {
    if (this.#closed) {
      ws.close(1001, 'endpoint closed');
      return;
    }
    const old = this.#ws;
    this.#ws = ws;
    if (old) {
      this.#replaced.add(old);
      old.close(1000, 'replaced');
    }
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#malformed('binary websocket frame');
        return;
      }
      this.#handleText(data.toString(), 'ws');
    });
    ws.on('close', (code) => {
      // Not counted: a socket replaced by a newer one (JVB counts only the endpoint's socket).
      if (this.#replaced.has(ws)) return;
      if (this.#ws === ws) this.#ws = undefined;
      if (code === 1000 || code === 1001 || code === 1005) this.counters.wsCloseNormal += 1;
      else this.counters.wsCloseAbnormal += 1;
    });
    ws.on('error', (err) => {
      this.counters.wsErrors += 1;
      this.#log.debug({ err }, 'colibri-ws error');
    });
    this.emit('open', 'ws');
  }

  /** The SCTP association was replaced (new transport): wait for the client's new DCEP OPEN. */
  resetSctp(): void {
    this.#sctpOpen = false;
  }

  /** Whether some transport can carry a message now. */
  get isOpen(): boolean {
    return (this.#ws !== undefined && this.#ws.readyState === this.#ws.OPEN) || this.#sctpOpen || (this.#relay?.open ?? false);
  }

  /** The transport in use (websocket preferred when both exist, as it was chosen last). */
  get kind(): ChannelKind | undefined {
    if (this.#ws && this.#ws.readyState === this.#ws.OPEN) return 'ws';
    return this.#sctpOpen || this.#relay?.open ? 'sctp' : undefined;
  }

  /** Send a message. Returns false (message dropped, as JVB does) when no transport is open. */
  send(message: BridgeChannelMessage): boolean {
    if (this.#closed) return false;
    const text = serializeBridgeChannelMessage(message);
    if (this.#ws && this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.send(text);
      this.counters.sent += 1;
      this.counters.wsSent += 1;
      return true;
    }
    // A relay's stream takes every message (it queues while down); an endpoint's SCTP only once the client opened it.
    if (this.#relay) this.#relay.send(text);
    else if (!this.#sctpOpen || !this.#sctp?.sendSctp(Buffer.from(text, 'utf8'), PPID.STRING)) return false;
    this.counters.sent += 1;
    this.counters.sctpSent += 1;
    return true;
  }

  #handleSctp(payload: Buffer, ppid: number): void {
    if (ppid === PPID.DCEP) {
      const dcep = parseDcep(payload);
      if (dcep === 'ack') return;
      if ('error' in dcep) {
        this.#malformed(dcep.error);
        return;
      }
      this.#log.info({ label: dcep.label, protocol: dcep.protocol, kind: 'sctp' }, 'bridge channel opened');
      this.#sctp?.sendSctp(dcepAck(), PPID.DCEP);
      const wasOpen = this.#sctpOpen;
      this.#sctpOpen = true;
      if (!wasOpen) this.emit('open', 'sctp');
      return;
    }
    if (ppid === PPID.STRING) {
      this.#handleText(payload.toString('utf8'), 'sctp');
      return;
    }
    if (ppid === PPID.STRING_EMPTY || ppid === PPID.BINARY_EMPTY) return;
    this.#malformed(`unexpected SCTP PPID ${ppid}`);
  }

  #handleText(text: string, kind: ChannelKind): void {
    if (!this.#bucket.take()) {
      this.counters.rateLimited += 1;
      this.#onLimit?.('channel_messages');
      this.#limitedLog.warn({ kind, bytes: Buffer.byteLength(text) }, 'bridge channel messages over the rate limit dropped');
      return;
    }
    const result = parseBridgeChannelMessage(text, this.#maxMessageBytes !== undefined ? { maxBytes: this.#maxMessageBytes } : {});
    if (!result.ok) {
      this.#malformed(result.error);
      return;
    }
    this.counters.received += 1;
    if (kind === 'ws') this.counters.wsReceived += 1;
    else this.counters.sctpReceived += 1;
    this.emit('activity');
    if ('unknown' in result) {
      this.counters.unknown += 1;
      this.#log.debug({ colibriClass: result.colibriClass }, 'unhandled bridge channel message');
      return;
    }
    try {
      this.emit('message', result.message);
    } catch (err) {
      this.counters.failed += 1;
      this.#limitedLog.error(
        { colibriClass: result.message.colibriClass, error: err instanceof Error ? err.message : String(err) },
        'bridge channel message handler failed',
      );
    }
  }

  #malformed(error: string): void {
    this.counters.malformed += 1;
    this.#limitedLog.warn({ error }, 'malformed bridge channel message dropped');
  }

  /** Close: the websocket with 1001 "endpoint closed" (ColibriWebSocket on expiry). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sctp?.off('sctpMessage', this.#onSctp);
    this.#relay?.off('message', this.#onRelayText);
    this.#ws?.close(1001, 'endpoint closed');
    this.#ws = undefined;
    this.#sctpOpen = false;
  }
}
