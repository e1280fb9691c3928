/**
 * The codecs and RTP header extensions the embedded focus offers, as Jicofo does by default
 * (jicofo `jicofo-common/src/main/resources/reference.conf` `jicofo.codec`, `CodecUtil.kt`,
 * `JingleOfferFactory.java`): opus 111 (minptime=10, useinbandfec=1, transport-cc);
 * AV1 41 / VP8 100 / H264 107 / VP9 101 with RTX 42 / 96 / 99 / 97; audio extensions
 * 1 ssrc-audio-level, 10 sdes:mid, 5 transport-cc; video 11 dependency-descriptor, 10 sdes:mid,
 * 3 abs-send-time, 5 transport-cc; extmap-allow-mixed. Only the configured video codecs are
 * offered (Jicofo's `jicofo.codec.video.<name>.enabled`), in the configured order (by default
 * Jicofo's, `JICOFO_VIDEO_CODECS` in settings.ts: AV1, VP8, H264, VP9, as `CodecUtil` emits them),
 * each codec's RTX after all the codecs. The client chooses which of them it sends.
 */
import type { Media, PayloadType, RtcpFeedback } from '../colibri2/types.ts';

type VideoCodec = 'VP8' | 'VP9' | 'H264' | 'AV1';

const VIDEO_FB: RtcpFeedback[] = [{ type: 'ccm', subtype: 'fir' }, { type: 'nack' }, { type: 'nack', subtype: 'pli' }, { type: 'transport-cc' }];
const RTX_FB: RtcpFeedback[] = [{ type: 'ccm', subtype: 'fir' }, { type: 'nack' }, { type: 'nack', subtype: 'pli' }];

/** Jicofo's payload type numbers: [codec pt, rtx pt]. */
const VIDEO_PTS: Record<VideoCodec, [number, number]> = { AV1: [41, 42], VP8: [100, 96], H264: [107, 99], VP9: [101, 97] };

function videoPayloadType(name: VideoCodec): PayloadType {
  const [pt] = VIDEO_PTS[name];
  const parameters = name === 'H264' ? [{ name: 'profile-level-id', value: '42e01f;level-asymmetry-allowed=1;packetization-mode=1;' }] : [];
  return { id: pt, name, clockrate: 90000, parameters, rtcpFbs: VIDEO_FB };
}

function rtxPayloadType(name: VideoCodec): PayloadType {
  const [pt, rtx] = VIDEO_PTS[name];
  return { id: rtx, name: 'rtx', clockrate: 90000, parameters: [{ name: 'apt', value: String(pt) }], rtcpFbs: name === 'H264' ? [] : RTX_FB };
}

/** The `<media>` elements (audio, video) of the offer, also sent in colibri2 on allocation. */
export function offerMedia(video: readonly VideoCodec[]): Media[] {
  return [
    {
      type: 'audio',
      payloadTypes: [
        {
          id: 111,
          name: 'opus',
          clockrate: 48000,
          channels: 2,
          parameters: [
            { name: 'minptime', value: '10' },
            { name: 'useinbandfec', value: '1' },
          ],
          rtcpFbs: [{ type: 'transport-cc' }],
        },
      ],
      rtpHdrExts: [
        { id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' },
        { id: 10, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
        { id: 5, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' },
      ],
      extmapAllowMixed: true,
    },
    {
      type: 'video',
      payloadTypes: [...video.map(videoPayloadType), ...video.map(rtxPayloadType)],
      rtpHdrExts: [
        { id: 11, uri: 'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension' },
        { id: 10, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
        { id: 3, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' },
        { id: 5, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' },
      ],
      extmapAllowMixed: true,
    },
  ];
}
