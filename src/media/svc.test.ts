/**
 * How VP9 and AV1 sources are produced (svc.ts, and its use in rtp.ts `producerRtpParameters`): lib-jitsi-meet's SIM
 * group of three SSRCs with one L3T3_KEY encoding on the first becomes one SVC encoding (`L3T3`, full-SVC forwarding)
 * on that SSRC with its RTX; AV1 only with the dependency descriptor negotiated, else one plain stream forwarded
 * whole; VP8 stays simulcast. And which receivers get the dependency descriptor (Forwarder `consumerCapabilities`).
 */
import { describe, expect, it } from 'vitest';
import type * as ms from 'mediasoup/types';
import { JICOFO_MEDIA, LJM_CAMERA } from '../../bench/lib/jicofo.ts';
import type { Media, MediaSource } from '../colibri2/types.ts';
import { consumerCapabilities } from './Forwarder.ts';
import { producerRtpParameters } from './rtp.ts';
import { DEPENDENCY_DESCRIPTOR_URI, svcDecision } from './svc.ts';

const video = JICOFO_MEDIA[1] as Media;
const noDd: Media = { ...video, rtpHdrExts: video.rtpHdrExts.filter((e) => e.uri !== DEPENDENCY_DESCRIPTOR_URI) };

describe('svcDecision', () => {
  it('VP9 is always SVC; AV1 only with the dependency descriptor; VP8/H264 never', () => {
    expect(svcDecision('VP9', [])).toEqual({ svc: true, scalabilityMode: 'L3T3' });
    expect(svcDecision('av1', [DEPENDENCY_DESCRIPTOR_URI])).toEqual({ svc: true, scalabilityMode: 'L3T3' });
    expect(svcDecision('AV1', [])).toMatchObject({ svc: false, reason: expect.stringContaining('forwarded whole') });
    expect(svcDecision('VP8', [DEPENDENCY_DESCRIPTOR_URI])).toEqual({ svc: false });
    expect(svcDecision('H264', [])).toEqual({ svc: false });
  });
});

describe('producerRtpParameters for SVC codecs', () => {
  it('VP9: one L3T3 encoding on the first SSRC of the SIM group, with its RTX', () => {
    const rtp = producerRtpParameters(LJM_CAMERA, video, ['VP9'], 'ep');
    expect(rtp.codecs[0]?.mimeType).toBe('video/VP9');
    expect(rtp.encodings).toEqual([{ ssrc: 1, rtx: { ssrc: 2 }, scalabilityMode: 'L3T3' }]);
  });

  it('AV1 with the dependency descriptor: the same, and the descriptor is read from the sender', () => {
    const rtp = producerRtpParameters(LJM_CAMERA, video, ['AV1'], 'ep');
    expect(rtp.encodings).toEqual([{ ssrc: 1, rtx: { ssrc: 2 }, scalabilityMode: 'L3T3' }]);
    expect(rtp.headerExtensions?.some((e) => e.uri === DEPENDENCY_DESCRIPTOR_URI)).toBe(true);
  });

  it('AV1 without it: no scalability mode (a plain stream forwarded whole)', () => {
    const single: MediaSource = { type: 'video', id: 'ep-v0', sources: [{ ssrc: 1 }, { ssrc: 2 }], ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 2] }] };
    expect(producerRtpParameters(single, noDd, ['AV1'], 'ep').encodings).toEqual([{ ssrc: 1, rtx: { ssrc: 2 } }]);
  });

  it('VP9 and AV1 whose sender simulcasts them: three L1T3 encodings like VP8', () => {
    for (const codec of ['VP9', 'AV1']) {
      const rtp = producerRtpParameters(LJM_CAMERA, video, [codec], 'ep', true);
      expect(rtp.encodings?.map((e) => [e.ssrc, e.rtx?.ssrc, e.scalabilityMode])).toEqual([
        [1, 2, 'L1T3'],
        [3, 4, 'L1T3'],
        [5, 6, 'L1T3'],
      ]);
    }
    // A source of one SSRC stays one stream.
    const single: MediaSource = { type: 'video', id: 'ep-v0', sources: [{ ssrc: 1 }, { ssrc: 2 }], ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 2] }] };
    expect(producerRtpParameters(single, video, ['VP9'], 'ep', true).encodings).toEqual([{ ssrc: 1, rtx: { ssrc: 2 }, scalabilityMode: 'L3T3' }]);
  });

  it('VP8 keeps its three simulcast encodings (L1T3 each)', () => {
    const rtp = producerRtpParameters(LJM_CAMERA, video, ['VP8'], 'ep');
    expect(rtp.encodings?.map((e) => [e.ssrc, e.scalabilityMode])).toEqual([
      [1, 'L1T3'],
      [3, 'L1T3'],
      [5, 'L1T3'],
    ]);
  });
});

describe('consumerCapabilities (Forwarder)', () => {
  const caps: ms.RtpCapabilities = {
    codecs: [],
    headerExtensions: [
      { kind: 'video', uri: DEPENDENCY_DESCRIPTOR_URI as ms.RtpHeaderExtensionUri, preferredId: 11, direction: 'sendrecv' },
      { kind: 'video', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 3, direction: 'sendrecv' },
    ],
  };
  const producer = (mimeType: string): Pick<ms.Producer, 'rtpParameters'> => ({ rtpParameters: { codecs: [{ mimeType, payloadType: 41, clockRate: 90000 }] } });

  it('AV1 receivers get the dependency descriptor (they need it to reassemble the layers)', () => {
    expect(consumerCapabilities(producer('video/AV1'), caps).headerExtensions?.map((e) => e.preferredId)).toEqual([11, 3]);
  });

  it('other codecs do not (a forwarded descriptor would describe layers the receiver does not get)', () => {
    for (const mime of ['video/VP8', 'video/VP9', 'video/H264', 'audio/opus']) {
      expect(consumerCapabilities(producer(mime), caps).headerExtensions?.map((e) => e.preferredId)).toEqual([3]);
    }
  });
});
