/**
 * A relay of a conference to another octobridge, as colibri2 and the relay message channel see it (JVB `Relay.kt`,
 * `RelayedEndpoint.kt`, `RelayMessageTransport.kt`). The media side is {@link MediaRelay}.
 *
 * - **Endpoints behind the relay** come from Jicofo (`<relay><endpoints><endpoint id create|expire><sources>`).
 *   Their source names exist in the conference at once (receivers may constrain them; the allocator orders them
 *   by speech activity); a source is forwarded once the other bridge announced it on the relay channel with the
 *   SSRCs it sends it on (`AudioSourcesMap`/`VideoSourcesMap`, octobridge's use of the JVB messages: a mediasoup
 *   bridge cannot keep the sender's SSRCs).
 * - **What crosses** (JVB's AddReceiver semantics): this bridge treats the relay as one receiver in its allocation,
 *   whose constraints are what the other bridge asked for with `AddReceiver{bridgeId, sourceName,
 *   videoConstraints}` (the highest any of its receivers wants; `maxHeight` 0 = nothing). It sends `AddReceiver`
 *   the same way for the sources behind the relay, from its own receivers' wants. Audio always crosses.
 * - Only local sources go out on a relay: a source that came over one is never sent over another (one hop, as
 *   JVB's full mesh never forwards packets from a relay of a mesh to a relay of the same mesh).
 * - **Endpoint traffic** (`EndpointMessage`, `EndpointStats`, JVB `RelayMessageTransport.kt`): what arrives is handed
 *   to the conference, which delivers it to its local endpoints only (src/conference/messageRouting.ts), `from` as the
 *   other bridge set it; what local endpoints send goes out only while the channel is up (JVB drops a message with
 *   no transport channel), so it never queues ahead of the source maps and AddReceivers.
 * - **Worker death** (of either bridge's relay transport, {@link MediaRelay.relocate}): every consumer on both sides
 *   of the relay is new, so the allocation forgets what it had announced and applied for them; when the channel
 *   comes back (a restarted association), each bridge says again what it wants and what it sends, as messages in
 *   flight were lost with the old association.
 */
import type { ConferenceAllocator, ReceiverSink } from '../allocation/ConferenceAllocator.ts';
import { BridgeChannel } from '../channel/BridgeChannel.ts';
import * as msg from '../channel/messages.ts';
import type { BridgeChannelMessage } from '../channel/messages.ts';
import type { Logger } from '../logger.ts';
import type { MediaConference } from '../media/MediaConference.ts';
import { signalledSsrcs } from '../media/rtp.ts';
import type { MediaRelay } from '../media/MediaRelay.ts';
import type { MappedSource } from '../media/types.ts';
import { normalizeVideoType } from '../jingle/types.ts';
import type { MediaSource, RelayEndpointModify } from '../colibri2/types.ts';
import { bool, optStr, type SettingsTable } from '../util/settings.ts';

/** `videobridge.relay` (JVB `RelayConfig`; `region` and `relay-id` are required when enabled). */
export interface RelaySettings {
  enabled: boolean;
  region: string | undefined;
  relayId: string | undefined;
}

/** Relays off (JVB's default). */
export const DEFAULT_RELAY: Readonly<RelaySettings> = { enabled: false, region: undefined, relayId: undefined };

/**
 * Where the relay settings are read, in order (a later one wins): JVB's older `videobridge.octo.*` names, then
 * `videobridge.relay.*`; docker-jitsi-meet's `JVB_OCTO_*`. Its `ENABLE_OCTO` (relays on, region `europe` when none is
 * set) is read by config/config.ts before these variables.
 */
export const RELAY_SETTINGS: SettingsTable<RelaySettings> = [
  { key: 'enabled', file: 'videobridge.octo.enabled', value: bool },
  { key: 'region', file: 'videobridge.octo.region', value: optStr },
  { key: 'relayId', file: 'videobridge.octo.bind-address', value: optStr },
  { key: 'relayId', file: 'videobridge.octo.relay-id', value: optStr },
  { key: 'enabled', file: 'videobridge.relay.enabled', value: bool },
  { key: 'region', file: 'videobridge.relay.region', value: optStr },
  { key: 'relayId', file: 'videobridge.relay.relay-id', value: optStr },
  { key: 'relayId', env: 'JVB_OCTO_BIND_ADDRESS', value: optStr },
  { key: 'region', env: 'JVB_OCTO_REGION', value: optStr },
  { key: 'relayId', env: 'JVB_OCTO_RELAY_ID', value: optStr },
];

/** Announced-but-not-yet-signalled sources kept per relay, at most; as many AddReceivers for sources not signalled yet. */
const MAX_EARLY_ANNOUNCEMENTS = 1000;

/**
 * Largest message accepted on the relay channel, bytes: an endpoint's largest message ({@link
 * msg.MAX_BRIDGE_CHANNEL_MESSAGE_BYTES}) plus the `from` its bridge adds (an endpoint id is at most 64 characters).
 */
const MAX_RELAY_MESSAGE_BYTES = msg.MAX_BRIDGE_CHANNEL_MESSAGE_BYTES + 1024;

/** The allocator receiver key of a relay (endpoint ids cannot contain `/`). */
export function relayReceiverKey(relayId: string): string {
  return `relay/${relayId}`;
}

/** What a {@link Relay} needs from its conference. */
export interface RelayContext {
  allocator: ConferenceAllocator;
  media: MediaConference;
  /** This bridge's relay id (`videobridge.relay.relay-id`): `bridgeId` of the AddReceiver it sends. */
  localRelayId: string;
  videoCodecs: readonly string[];
  /**
   * The local endpoint that signalled `source` (colibri2), produced at this moment or not (a source is produced again
   * for the codec its sender uses, or after its worker died); undefined when no local endpoint did (yet).
   */
  localOwnerOf(source: string): string | undefined;
  /** Whether `source` is sent by an endpoint behind a relay. */
  isRelayedSource(source: string): boolean;
  /** An `EndpointMessage` or `EndpointStats` from the other bridge, for the conference's local endpoints. */
  onEndpointTraffic(relay: Relay, m: msg.EndpointMessage | msg.EndpointStats): void;
  log: Logger;
}

/** An endpoint behind the relay. */
interface RemoteEndpoint {
  id: string;
  statsId?: string;
  /** Its signalled sources, by name. */
  sources: Map<string, MediaSource>;
}

/** See the module docstring. */
export class Relay {
  readonly id: string;
  readonly media: MediaRelay;
  readonly meshId: string | undefined;
  readonly #ctx: RelayContext;
  readonly #log: Logger;
  readonly #remote = new Map<string, RemoteEndpoint>();
  /**
   * What the other bridge asked for, per local source (AddReceiver), kept for a source no local endpoint signalled yet
   * (the other bridge may learn of it first) or that is between two producers (see {@link RelayContext.localOwnerOf}):
   * the other bridge says it once.
   */
  readonly #wants = new Map<string, { maxHeight: number; maxFrameRate?: number }>();
  /** What we last asked the other bridge for, per remote source. */
  readonly #asked = new Map<string, number>();
  /**
   * Announcements of sources Jicofo has not signalled for this relay yet (the other bridge may be faster than
   * the focus's update to us), applied when they are signalled. At most {@link MAX_EARLY_ANNOUNCEMENTS}.
   */
  readonly #early = new Map<string, MappedSource>();
  /**
   * The message channel to the other bridge: parsed and counted like an endpoint's (`BridgeChannel`), over the relay
   * transport's SCTP stream, without a rate limit (it carries a whole bridge's endpoints).
   */
  readonly channel: BridgeChannel;
  /** Messages refused for what they name (sources of another kind, endpoints we do not know). */
  #rejected = 0;
  /** Endpoint messages not sent because the relay channel was not up. */
  droppedMessages = 0;
  #closed = false;

  constructor(id: string, media: MediaRelay, meshId: string | undefined, ctx: RelayContext) {
    this.id = id;
    this.media = media;
    this.meshId = meshId;
    this.#ctx = ctx;
    this.#log = ctx.log.child({ relay: id });
    this.channel = new BridgeChannel(relayReceiverKey(id), this.#log, { maxMessageBytes: MAX_RELAY_MESSAGE_BYTES });
    this.channel.attachRelay(media);
    this.channel.on('message', (m) => this.#onMessage(m));
    const key = relayReceiverKey(id);
    const sink: ReceiverSink = {
      video: (source, f) => {
        void media
          .applyForwarding(
            source,
            f.paused ? { paused: true } : { paused: false, spatialLayer: f.spatialLayer, temporalLayer: f.temporalLayer, priority: f.priority },
          )
          .catch((err: unknown) => {
            if (!media.closed) this.#log.warn({ err, source }, 'cannot apply relay forwarding');
          });
      },
      audio: () => undefined, // audio always crosses a relay
      forwardedSources: () => undefined,
      idealBitrate: () => undefined, // a relay transport has no send-side estimate
    };
    ctx.allocator.addEndpoint(key, sink, -1, { speaker: false });
    ctx.allocator.setConstraints(key, { lastN: -1, defaultConstraints: { maxHeight: 0 }, constraints: {} });
    media.on('relocated', () => {
      // Its worker died: every relay consumer is created again (announced and resumed anew) ...
      ctx.allocator.resetReceiver(key);
      // ... and so is every local consumer of what arrives on it.
      for (const remote of this.#remote.values()) for (const source of remote.sources.keys()) ctx.allocator.resetSource(source);
    });
    let opened = false;
    media.on('open', () => {
      // A (re)connected channel: say again what we want (JVB re-sends constraints on reconnect) ...
      for (const [source, maxHeight] of this.#asked) this.#send(msg.addReceiver(ctx.localRelayId, source, { maxHeight, maxFrameRate: -1 }));
      // ... and, when it came back (one of the two bridges re-created its relay transport after a worker death and
      // the association restarted), what we send: messages in flight when it went away are lost with it.
      if (opened) this.#announce(media.forwardedSources());
      opened = true;
    });
  }

  /** Endpoint ids behind this relay. */
  endpointIds(): string[] {
    return [...this.#remote.keys()];
  }

  /** Whether `endpointId` is behind this relay. */
  hasEndpoint(endpointId: string): boolean {
    return this.#remote.has(endpointId);
  }

  /**
   * Apply `<relay><endpoints>`: create (with sources), update sources, or expire endpoints behind the relay.
   * Validation is done by the caller ({@link validateRelayEndpoints}).
   */
  async applyEndpoints(endpoints: readonly RelayEndpointModify[]): Promise<void> {
    const { allocator, media } = this.#ctx;
    for (const e of endpoints) {
      if (e.expire) {
        await this.#removeEndpoint(e.id);
        continue;
      }
      let remote = this.#remote.get(e.id);
      if (!remote) {
        remote = { id: e.id, sources: new Map(), ...(e.statsId ? { statsId: e.statsId } : {}) };
        this.#remote.set(e.id, remote);
        allocator.addRemoteEndpoint(e.id);
        this.#log.info({ endpoint: e.id, statsId: e.statsId }, 'relayed endpoint added');
      }
      if (!e.sources) continue;
      const wanted = new Map(e.sources.map((s) => [s.id, s]));
      for (const name of remote.sources.keys()) {
        if (wanted.has(name)) continue;
        allocator.removeSource(name);
        this.#asked.delete(name);
        await media.removeRelayedSource(this.id, name);
      }
      remote.sources = wanted;
      for (const s of wanted.values()) {
        allocator.addSource(s.id, e.id, s.type, normalizeVideoType(s.sources[0]?.videoType) ?? 'CAMERA');
        const early = this.#early.get(s.id);
        if (early) {
          this.#early.delete(s.id);
          this.#receive(early);
        }
      }
    }
  }

  async #removeEndpoint(id: string): Promise<void> {
    for (const [name, m] of [...this.#early]) if (m.owner === id) this.#early.delete(name);
    const remote = this.#remote.get(id);
    if (!remote) return;
    this.#remote.delete(id);
    for (const name of remote.sources.keys()) {
      this.#asked.delete(name);
      await this.#ctx.media.removeRelayedSource(this.id, name);
    }
    this.#ctx.allocator.removeRemoteEndpoint(id);
    this.#send(msg.removeReceiver(this.#ctx.localRelayId, id));
    this.#log.info({ endpoint: id }, 'relayed endpoint removed');
  }

  /** A local source is now sent over the relay: announce its relay SSRCs; the allocation may resume it. */
  onLocalSourceForwarded(mapped: MappedSource): void {
    this.#announce([mapped]);
    this.#ctx.allocator.sourceReady(relayReceiverKey(this.id), mapped.source);
  }

  /** Send the source maps of local sources sent over the relay (`AudioSourcesMap`/`VideoSourcesMap`). */
  #announce(mapped: readonly MappedSource[]): void {
    const audio = mapped.filter((m) => m.kind === 'audio');
    const video = mapped.filter((m) => m.kind === 'video');
    if (audio.length > 0) this.#send(msg.audioSourcesMap(audio.map((m) => ({ source: m.source, owner: m.owner, ssrc: m.ssrc }))));
    if (video.length > 0) {
      this.#send(
        msg.videoSourcesMap(video.map((m) => ({ source: m.source, owner: m.owner, ssrc: m.ssrc, rtx: m.rtx ?? -1, videoType: m.videoType ?? 'CAMERA' }))),
      );
    }
  }

  /**
   * Our receivers' highest wanted height of a source behind this relay changed: tell the other bridge
   * (`AddReceiver`, 0 = nothing).
   */
  wantSource(source: string, maxHeight: number): void {
    if (this.#asked.get(source) === maxHeight) return;
    this.#asked.set(source, maxHeight);
    this.#send(msg.addReceiver(this.#ctx.localRelayId, source, { maxHeight, maxFrameRate: -1 }));
  }

  /** Messages refused: malformed, or naming what we do not know. */
  get rejectedMessages(): number {
    return this.#rejected + this.channel.counters.malformed;
  }

  /** Count a message refused by the conference for what it names. */
  reject(): void {
    this.#rejected += 1;
  }

  #send(m: BridgeChannelMessage): void {
    if (!this.#closed) this.channel.send(m);
  }

  /**
   * Send a local endpoint's `EndpointMessage` or `EndpointStats` (with `from` set) to the other bridge, now or never
   * (JVB `RelayMessageTransport.kt` `sendMessage` drops a message when no transport channel is up). Counted in
   * {@link droppedMessages} when dropped.
   * @returns whether it went out.
   */
  sendEndpointTraffic(m: msg.EndpointMessage | msg.EndpointStats): boolean {
    if (this.#closed || !this.channel.isOpen) {
      this.droppedMessages += 1;
      return false;
    }
    return this.channel.send(m);
  }

  /** A message from the other bridge, parsed by the channel (JVB `RelayMessageTransport.kt`). */
  #onMessage(m: BridgeChannelMessage): void {
    switch (m.colibriClass) {
      case 'AudioSourcesMap':
        for (const e of m.mappedSources) this.#receive({ source: e.source, owner: e.owner ?? '', kind: 'audio', ssrc: e.ssrc });
        break;
      case 'VideoSourcesMap':
        for (const e of m.mappedSources) {
          this.#receive({ source: e.source, owner: e.owner ?? '', kind: 'video', ssrc: e.ssrc, ...(e.rtx >= 0 ? { rtx: e.rtx } : {}), videoType: e.videoType });
        }
        break;
      case 'AddReceiver':
        this.#addReceiver(m.sourceName, m.videoConstraints);
        break;
      case 'EndpointMessage':
      case 'EndpointStats':
        this.#ctx.onEndpointTraffic(this, m);
        break;
      case 'RemoveReceiver':
        for (const source of [...this.#wants.keys()]) {
          if (this.#ctx.localOwnerOf(source) === m.endpointId) this.#wants.delete(source);
        }
        this.#applyWants();
        break;
      default:
        this.#log.debug({ colibriClass: m.colibriClass }, 'relay message ignored');
    }
  }

  /** A source behind the relay, announced with its relay SSRCs: only for endpoints and sources Jicofo signalled. */
  #receive(mapped: MappedSource): void {
    const remote = this.#remote.get(mapped.owner);
    const signalled = remote?.sources.get(mapped.source);
    if (!signalled) {
      // Not (yet) signalled by the focus: kept until it is, as the two paths race.
      if (this.#early.size >= MAX_EARLY_ANNOUNCEMENTS) this.#early.delete(this.#early.keys().next().value as string);
      this.#early.set(mapped.source, mapped);
      this.#log.debug({ source: mapped.source, owner: mapped.owner }, 'relay announced a source not signalled yet; kept');
      return;
    }
    if (signalled.type !== mapped.kind) {
      this.#rejected += 1;
      this.#log.warn({ source: mapped.source, owner: mapped.owner, kind: mapped.kind }, 'relay announced a source of another kind than signalled; ignored');
      return;
    }
    this.#ctx.media.receiveFromRelay(this.id, mapped, this.#ctx.videoCodecs, signalledSsrcs(signalled)).catch((err: unknown) => {
      if (!this.#closed) this.#log.warn({ err, source: mapped.source }, 'cannot receive relayed source');
    });
  }

  /**
   * `AddReceiver`: what the other bridge's receivers want of a local source. Unlike JVB (`RelayMessageTransport.kt`
   * ignores one for a source it does not own), one for a source no local endpoint signalled (yet) is kept, up to
   * {@link MAX_EARLY_ANNOUNCEMENTS}: the other bridge sends it once, and its source may be between two producers here.
   * One for a source behind a relay is refused.
   */
  #addReceiver(source: string, c: { maxHeight: number; maxFrameRate?: number }): void {
    if (this.#ctx.isRelayedSource(source)) {
      this.#rejected += 1;
      this.#log.warn({ source }, 'AddReceiver for a source behind a relay; ignored');
      return;
    }
    const unsignalled = (name: string): boolean => this.#ctx.localOwnerOf(name) === undefined;
    if (!this.#wants.has(source) && unsignalled(source) && [...this.#wants.keys()].filter(unsignalled).length >= MAX_EARLY_ANNOUNCEMENTS) {
      this.#rejected += 1;
      this.#log.warn({ source }, 'AddReceiver for a source not signalled, over the limit; ignored');
      return;
    }
    if (unsignalled(source)) this.#log.debug({ source }, 'AddReceiver for a source not signalled yet; kept');
    this.#wants.set(source, c);
    this.#applyWants();
  }

  #applyWants(): void {
    this.#ctx.allocator.setConstraints(relayReceiverKey(this.id), { constraints: Object.fromEntries(this.#wants) });
  }

  /** Close: the endpoints behind it leave, the allocation for it stops, its media closes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const id of [...this.#remote.keys()]) await this.#removeEndpoint(id);
    this.#closed = true;
    this.channel.close();
    this.#ctx.allocator.removeEndpoint(relayReceiverKey(this.id));
    await this.#ctx.media.removeRelay(this.id);
  }
}
