/**
 * The bridge-channel side of a conference (jitsi-videobridge `EndpointMessageTransport.kt` and the message parts of
 * `Conference.java`): what the endpoints' channels receive is applied (constraints, last-N, audio subscriptions and
 * video types to the allocation) or routed (`EndpointMessage`, `EndpointStats`, to local endpoints and across the
 * relays: messageRouting.ts); what they are sent: `ServerHello`, the source maps (`AudioSourcesMap`/`VideoSourcesMap`,
 * SSRC rewriting), dominant speaker changes and `ConnectionStats`.
 */
import * as msg from '../channel/messages.ts';
import type { BridgeChannelMessage } from '../channel/messages.ts';
import type { Logger } from '../logger.ts';
import { RateLimitedLog } from '../limits/RateLimitedLog.ts';
import type { MediaEndpoint } from '../media/MediaEndpoint.ts';
import type { MappedSource, VideoType } from '../media/types.ts';
import type { Conference, ConferenceSettings } from './Conference.ts';
import type { Endpoint } from './Endpoint.ts';
import { endpointMessageTargets, endpointStatsTargets, wantsStatsFrom, type MessageOrigin, type MessageTargets, type RoutingView } from './messageRouting.ts';
import type { Relay } from './Relay.ts';
import { DEFAULT_VIDEOBRIDGE } from './settings.ts';

/** Delay between sending a video source map and forwarding that video, ms (see #announce). */
const VIDEO_RESUME_DELAY_MS = 250;

/** Why a bridge-channel message from an endpoint was refused (logged and counted; nothing changes). */
export class ChannelMessageRejected extends Error {}

/** See the module docstring. Created by its {@link Conference}. */
export class ChannelMessageHandler {
  readonly #conference: Conference;
  readonly #settings: ConferenceSettings;
  readonly #log: Logger;
  /** Per receiver: sources mapped but not yet announced on its channel. */
  readonly #pendingMaps = new Map<string, MappedSource[]>();
  /** Bridge-channel messages refused for their content (unknown sources, etc.). */
  rejectedMessages = 0;

  constructor(conference: Conference, settings: ConferenceSettings, log: Logger) {
    this.#conference = conference;
    this.#settings = settings;
    this.#log = log;
  }

  /** Handle what `endpoint`'s channel opens with and receives (`log`: the endpoint's). */
  attach(endpoint: Endpoint, log: Logger): void {
    const channel = endpoint.channel;
    channel.on('open', (kind) => this.#onOpen(endpoint, kind));
    channel.on('activity', () => (endpoint.lastActivity = Date.now()));
    const rejectedLog = new RateLimitedLog(log);
    channel.on('message', (m) => {
      try {
        this.#onMessage(endpoint, m);
      } catch (err) {
        if (!(err instanceof ChannelMessageRejected)) throw err;
        this.rejectedMessages += 1;
        rejectedLog.warn({ colibriClass: m.colibriClass, reason: err.message }, 'bridge channel message rejected');
      }
    });
  }

  /** Forget what was waiting for `endpointId`'s channel (it expired, or a new transport comes with a new channel). */
  forget(endpointId: string): void {
    this.#pendingMaps.delete(endpointId);
  }

  #onOpen(endpoint: Endpoint, kind: string): void {
    this.#log.info({ endpoint: endpoint.id, kind }, 'bridge channel open');
    endpoint.lastActivity = Date.now();
    endpoint.channel.send(msg.serverHello(this.#settings.announceVersion));
    // What JVB sends on a (re)connected channel (Endpoint.endpointMessageTransportConnected,
    // Conference.endpointMessageTransportConnected): sender constraints, forwarded sources, the
    // source maps, the recent speakers.
    for (const [source, maxHeight] of this.#conference.allocator.senderConstraintsOf(endpoint.id)) {
      endpoint.channel.send(msg.senderSourceConstraints(source, maxHeight));
    }
    const state = this.#conference.allocator.state(endpoint.id);
    if (state) endpoint.channel.send(msg.forwardedSources(state.allocation.sources.filter((s) => s.target).map((s) => s.source)));
    // Everything forwarded so far, announced again in full (a known SSRC is a no-op for the client).
    this.#pendingMaps.delete(endpoint.id);
    this.#announce(endpoint, endpoint.mediaEndpoint.forwardedSources());
    const [dominant, ...previous] = this.#conference.allocator.speech.recentSpeakers;
    if (dominant !== undefined) endpoint.channel.send(msg.dominantSpeakerChange(dominant, previous));
  }

  /** A new dominant speaker from the media layer: the allocation and every endpoint learn it. */
  dominantSpeaker(id: string): void {
    const recent = this.#conference.allocator.dominantSpeakerChanged(id);
    if (!recent) return;
    const [dominant, ...previous] = recent;
    if (dominant === undefined) return;
    this.#log.info({ dominant, previous }, 'dominant speaker changed');
    const out = msg.dominantSpeakerChange(dominant, previous);
    for (const e of this.#conference.endpoints()) if (e.channel.isOpen) e.channel.send(out);
  }

  /** `ConnectionStats` to each endpoint with an estimate (JVB Endpoint.kt, every `connection-stats.interval`). */
  sendConnectionStats(): void {
    for (const e of this.#conference.endpoints()) {
      const bwe = this.#conference.allocator.state(e.id)?.bweBps ?? -1;
      if (bwe >= 0 && e.channel.isOpen) e.channel.send(msg.connectionStats(bwe));
    }
  }

  /** A source forwarded to `receiver` on a new consumer: announced now, or when its channel opens. */
  sourceForwarded(receiver: MediaEndpoint, mapped: MappedSource): void {
    const endpoint = this.#conference.endpoint(receiver.id);
    if (!endpoint) return;
    if (endpoint.channel.isOpen || !endpoint.ssrcRewriting) {
      this.#announce(endpoint, [mapped]);
    } else {
      const list = this.#pendingMaps.get(endpoint.id) ?? [];
      list.push(mapped);
      this.#pendingMaps.set(endpoint.id, list);
    }
  }

  /**
   * Send the source maps for `mapped` to `endpoint`, then hand them to the allocation: the map
   * goes out before the media (JVB's order), so the client can set up its receivers. A source sent on an SSRC slot
   * another source had (`videobridge.ssrc-limit.*`) goes out the same way, with the SSRC the client knows: it
   * re-maps that SSRC's track to the new source and owner, without renegotiating. An endpoint
   * without SSRC rewriting gets no maps (as from JVB): the focus told it the senders' own SSRCs.
   */
  #announce(endpoint: Endpoint, mapped: readonly MappedSource[]): void {
    const audio = mapped.filter((m) => m.kind === 'audio');
    const video = mapped.filter((m) => m.kind === 'video');
    if (endpoint.ssrcRewriting && audio.length > 0) {
      endpoint.channel.send(msg.audioSourcesMap(audio.map((m) => ({ source: m.source, owner: m.owner, ssrc: m.ssrc }))));
    }
    if (endpoint.ssrcRewriting && video.length > 0) {
      endpoint.channel.send(
        msg.videoSourcesMap(video.map((m) => ({ source: m.source, owner: m.owner, ssrc: m.ssrc, rtx: m.rtx ?? -1, videoType: m.videoType ?? 'CAMERA' }))),
      );
    }
    const resume = (sources: readonly MappedSource[]): void => {
      if (this.#conference.endpoint(endpoint.id) !== endpoint) return;
      // A source that lost its SSRC slot meanwhile has no consumer to resume.
      const held = new Set(endpoint.mediaEndpoint.heldSources());
      for (const m of sources) if (!held.has(m.source)) this.#conference.allocator.sourceReady(endpoint.id, m.source);
    };
    resume(audio);
    // Resuming video makes mediasoup ask the sender for a keyframe at once. Sent before the client
    // has applied the map (a renegotiation, ~100 ms), that keyframe is lost, and the client's own
    // request then falls inside the sender's 300 ms keyframe guard (libwebrtc
    // EncoderRtcpFeedback) and mediasoup's 1 s pending-keyframe wait: the first frame comes ~1 s
    // late. Resuming video a little after the map avoids both.
    if (video.length > 0) setTimeout(() => resume(video), VIDEO_RESUME_DELAY_MS).unref();
  }

  #onMessage(from: Endpoint, m: BridgeChannelMessage): void {
    switch (m.colibriClass) {
      case 'ClientHello':
        from.channel.send(msg.serverHello(this.#settings.announceVersion));
        return;
      case 'EndpointMessage': {
        // JVB EndpointMessageTransport.java endpointMessage: a visitor's are dropped; `from` is the bridge's to set.
        if (from.visitor) throw new ChannelMessageRejected('EndpointMessage from a visitor endpoint');
        const to = msg.isBroadcast(m) ? undefined : m.to;
        const targets = endpointMessageTargets(this.#routingView(), { endpoint: from.id }, to);
        if (targets) this.#sendEndpointTraffic(targets, msg.endpointMessageFrom(m, from.id));
        else this.#log.debug({ endpoint: from.id, to }, 'EndpointMessage for unknown endpoint dropped');
        return;
      }
      case 'EndpointStats': {
        // JVB EndpointMessageTransport.java endpointStats.
        if (from.visitor) throw new ChannelMessageRejected('EndpointStats from a visitor endpoint');
        this.#routeEndpointStats({ endpoint: from.id }, from.id, msg.endpointStatsFrom(m, from.id));
        return;
      }
      case 'SourceVideoTypeMessage':
        this.#setVideoType(from, m.sourceName, m.videoType);
        return;
      case 'VideoTypeMessage':
        // Deprecated form: the endpoint's only video source, by lib-jitsi-meet's naming (JVB).
        this.#setVideoType(from, `${from.id}-v0`, m.videoType);
        return;
      case 'ReceiverVideoConstraints':
        // Sources are named as the receiver knows them, which may be before the bridge does (jitsi-meet takes names
        // from MUC presence, ahead of Jicofo's colibri2 update): stored as they are and applied when the source
        // appears (JVB `Endpoint.setBandwidthAllocationSettings`). The parser bounds the message's size.
        this.#conference.allocator.setConstraints(from.id, m);
        return;
      case 'LastNChangedEvent':
        if (m.lastN < -1) throw new ChannelMessageRejected(`invalid lastN ${m.lastN}`);
        this.#conference.allocator.setLastN(from.id, m.lastN);
        return;
      case 'ReceiverAudioSubscription':
        this.#conference.allocator.setAudioSubscription(from.id, m);
        return;
      default:
        this.#log.debug({ endpoint: from.id, colibriClass: m.colibriClass }, 'bridge channel message');
    }
  }

  /**
   * An `EndpointMessage` or `EndpointStats` from the other bridge of `relay`, for local endpoints only (JVB
   * `RelayMessageTransport.kt`): `from` is the other bridge's (it set it for its own endpoint); stats need a `from`
   * that is an endpoint of the conference.
   */
  relayEndpointTraffic(relay: Relay, m: msg.EndpointMessage | msg.EndpointStats): void {
    if (this.#conference.expired) return;
    const origin = { relay: relay.id };
    if (m.colibriClass === 'EndpointMessage') {
      const to = msg.isBroadcast(m) ? undefined : m.to;
      const targets = endpointMessageTargets(this.#routingView(), origin, to);
      if (targets) this.#sendEndpointTraffic(targets, m);
      else this.#log.debug({ relay: relay.id, from: m.from, to }, 'relayed EndpointMessage for an endpoint not on this bridge dropped');
      return;
    }
    const sender = m.from;
    if (sender === undefined || !(this.#conference.endpoint(sender) !== undefined || this.#conference.relays().some((r) => r.hasEndpoint(sender)))) {
      relay.reject();
      this.#log.debug({ relay: relay.id, from: sender }, 'relayed EndpointStats from an unknown endpoint dropped');
      return;
    }
    this.#routeEndpointStats(origin, sender, m);
  }

  /** Endpoints and relays, as message routing sees them. */
  #routingView(): RoutingView {
    return { localEndpoints: this.#conference.endpoints().map((e) => e.id), relays: this.#conference.relays() };
  }

  /** `EndpointStats` of `sender` (`from` set) to the endpoints that want them, and on to the relays when local. */
  #routeEndpointStats(origin: MessageOrigin, sender: string, out: msg.EndpointStats): void {
    const conferenceSize = this.#conference.endpointCount + this.#conference.relays().reduce((n, r) => n + r.endpointIds().length, 0);
    const filter = {
      conferenceSize,
      threshold: this.#settings.statsFilterThreshold ?? DEFAULT_VIDEOBRIDGE.statsFilterThreshold,
      senderIsRecentSpeaker: () => this.#conference.allocator.speech.recentSpeakers.includes(sender),
      // Every speaker's audio is forwarded (JVB's `loudest.route-loudest-only = false`): all are ranked.
      senderIsRankedSpeaker: () => true,
      receiverWantsVideo: (receiver: string) => this.#conference.allocator.wantsVideoOf(receiver, sender),
    };
    this.#sendEndpointTraffic(
      endpointStatsTargets(this.#routingView(), origin, sender, (receiver) => wantsStatsFrom(filter, receiver)),
      out,
    );
  }

  /** Send `out` to the targets (JVB `Conference.java` `sendMessage`). */
  #sendEndpointTraffic(targets: MessageTargets, out: msg.EndpointMessage | msg.EndpointStats): void {
    for (const id of targets.endpoints) this.#conference.endpoint(id)?.channel.send(out);
    for (const id of targets.relays) this.#conference.relay(id)?.sendEndpointTraffic(out);
  }

  /**
   * A sender's `SourceVideoTypeMessage`: the allocation and every receiver's video map learn it. For a source the
   * endpoint does not send (yet) it is cached and applied when the source is signalled (JVB `AbstractEndpoint`
   * `setVideoType` / `videoTypeCache`).
   */
  #setVideoType(from: Endpoint, source: string, videoType: VideoType): void {
    if (!this.#conference.media.setVideoType(from.id, source, videoType)) {
      from.cacheVideoType(source, videoType);
      return;
    }
    this.#conference.allocator.setVideoType(source, videoType);
    for (const e of this.#conference.endpoints()) {
      if (e === from || !e.channel.isOpen) continue;
      const mapped = e.mediaEndpoint.forwardedSources().filter((s) => s.source === source);
      if (mapped.length > 0) this.#announce(e, mapped);
    }
  }
}
