/**
 * A colibri2 endpoint: one participant's state on this bridge (jitsi-videobridge `Endpoint.kt`):
 * what it signalled (media, capabilities, sources, force-mute, initial last-N), its media
 * transport, and its bridge channel.
 */
import { randomBytes } from 'node:crypto';
import type { BridgeChannel } from '../channel/BridgeChannel.ts';
import type { MediaEndpoint } from '../media/MediaEndpoint.ts';
import type { ForceMute, Media, MediaSource } from './types.ts';
import { CAPABILITY_SSRC_REWRITING } from './types.ts';

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

  /** Whether the endpoint accepts bridge-chosen SSRCs announced in source maps. */
  get ssrcRewriting(): boolean {
    return this.capabilities.has(CAPABILITY_SSRC_REWRITING);
  }

  /** Merge `<media>` additions: new payload types and header extensions by id (never removes). */
  addMedia(media: readonly Media[]): void {
    for (const m of media) {
      const cur = this.media.find((x) => x.type === m.type);
      if (!cur) {
        this.media.push(structuredClone(m));
        continue;
      }
      for (const pt of m.payloadTypes) if (!cur.payloadTypes.some((p) => p.id === pt.id)) cur.payloadTypes.push(pt);
      for (const e of m.rtpHdrExts) if (!cur.rtpHdrExts.some((x) => x.id === e.id)) cur.rtpHdrExts.push(e);
      if (m.extmapAllowMixed !== undefined) cur.extmapAllowMixed = m.extmapAllowMixed;
    }
  }
}
