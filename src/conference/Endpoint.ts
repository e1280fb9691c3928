/**
 * A colibri2 endpoint: one participant's state on this bridge (jitsi-videobridge `Endpoint.kt`):
 * what it signalled (media, capabilities, sources, force-mute, initial last-N), its media
 * transport, and its bridge channel.
 */
import { randomBytes } from 'node:crypto';
import type { BridgeChannel } from '../channel/BridgeChannel.ts';
import { copyMedia, copyPayloadType } from '../jingle/copy.ts';
import type { MediaEndpoint } from '../media/MediaEndpoint.ts';
import type { VideoType } from '../media/types.ts';
import type { ForceMute, Media, MediaSource } from '../colibri2/types.ts';
import { CAPABILITY_SSRC_REWRITING } from '../colibri2/types.ts';

/** What an endpoint was created with (from colibri2 `<endpoint create='true'>`). */
export interface EndpointInit {
  id: string;
  statsId?: string;
  mucRole?: 'moderator' | 'participant' | 'visitor';
  capabilities: string[];
  media: Media[];
  sctp: boolean;
  initialLastN?: number;
}

/** See the module docstring. Owned by {@link Conference}. */
/**
 * Video types cached per endpoint for sources not signalled yet. lib-jitsi-meet sends one per local video track (a
 * camera and a screen share: two); the bound keeps a client from growing it without end.
 */
export const VIDEO_TYPE_CACHE_SIZE = 16;

export class Endpoint {
  readonly id: string;
  statsId: string | undefined;
  readonly visitor: boolean;
  readonly capabilities: ReadonlySet<string>;
  /** Media descriptions, merged over requests (JVB only adds payload types/extensions). */
  media: Media[];
  readonly sctp: boolean;
  readonly mediaEndpoint: MediaEndpoint;
  readonly channel: BridgeChannel;
  /** The colibri-ws `pwd`: a per-endpoint random secret (JVB's `webSocketPassword`). */
  readonly wsPassword = randomBytes(16).toString('hex');
  sources: MediaSource[] = [];
  forceMute: ForceMute = {};
  initialLastN: number | undefined;
  readonly createdAt = Date.now();
  /** Last time ICE was up or the channel carried a message, ms since epoch. */
  lastActivity = Date.now();
  /**
   * Video types the endpoint announced for sources not signalled yet, by source name (JVB `AbstractEndpoint`
   * `videoTypeCache`): lib-jitsi-meet sends `SourceVideoTypeMessage` as soon as it adds a track, usually before
   * Jicofo's colibri2 update names the source. At most {@link VIDEO_TYPE_CACHE_SIZE}, the oldest forgotten first.
   */
  readonly #videoTypeCache = new Map<string, VideoType>();

  constructor(init: EndpointInit, mediaEndpoint: MediaEndpoint, channel: BridgeChannel) {
    this.id = init.id;
    this.statsId = init.statsId;
    this.visitor = init.mucRole === 'visitor';
    this.capabilities = new Set(init.capabilities);
    this.media = init.media;
    this.sctp = init.sctp;
    this.initialLastN = init.initialLastN;
    this.mediaEndpoint = mediaEndpoint;
    this.channel = channel;
  }

  /** ICE restarts answered so far: the `ice-generation` of the latest restart answer (0: none). */
  iceGeneration = 0;

  /** Whether the endpoint accepts bridge-chosen SSRCs announced in source maps. */
  get ssrcRewriting(): boolean {
    return this.capabilities.has(CAPABILITY_SSRC_REWRITING);
  }

  /** Keep the video type of a source the endpoint does not send yet (see the cache above). */
  cacheVideoType(source: string, videoType: VideoType): void {
    this.#videoTypeCache.delete(source);
    this.#videoTypeCache.set(source, videoType);
    const oldest = this.#videoTypeCache.keys().next().value;
    if (this.#videoTypeCache.size > VIDEO_TYPE_CACHE_SIZE && oldest !== undefined) this.#videoTypeCache.delete(oldest);
  }

  /** The cached video type of `source`, removed from the cache (JVB `applyVideoTypeCache`), or undefined. */
  takeVideoType(source: string): VideoType | undefined {
    const t = this.#videoTypeCache.get(source);
    this.#videoTypeCache.delete(source);
    return t;
  }

  /** Merge `<media>` additions: new payload types and header extensions by id (never removes). */
  addMedia(media: readonly Media[]): void {
    for (const m of media) {
      const cur = this.media.find((x) => x.type === m.type);
      if (!cur) {
        this.media.push(...copyMedia([m]));
        continue;
      }
      for (const pt of m.payloadTypes) if (!cur.payloadTypes.some((p) => p.id === pt.id)) cur.payloadTypes.push(copyPayloadType(pt));
      for (const e of m.rtpHdrExts) if (!cur.rtpHdrExts.some((x) => x.id === e.id)) cur.rtpHdrExts.push({ ...e });
      if (m.extmapAllowMixed !== undefined) cur.extmapAllowMixed = m.extmapAllowMixed;
    }
  }
}
