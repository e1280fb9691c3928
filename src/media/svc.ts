/**
 * How a VP9 or AV1 source is produced in mediasoup so that the bridge can select its spatial and temporal
 * layers per receiver (mediasoup's SVC consumer), the way jitsi-videobridge's
 * `Vp9AdaptiveSourceProjectionContext` and `Av1DDAdaptiveSourceProjectionContext` do.
 *
 * lib-jitsi-meet sends VP9 and AV1 as one SVC stream (`StandardVideoQualitySettings`: `useSimulcast: false`,
 * `useKSVC: true`, i.e. `L3T3_KEY`; `TPCUtils` puts the mode on the first of three encodings and leaves the
 * other two inactive), so its SIM group of three SSRCs carries media on the first SSRC only. Colibri2 does not say
 * which scalability mode a sender uses, and it changes with `SenderSourceConstraints` (lib-jitsi-meet goes down
 * to `L2T3_KEY` / `L1T3` for 360p / 180p), so the producer is declared with the most a sender sends: three spatial
 * and three temporal layers. It is declared as full SVC (`L3T3`), not K-SVC: mediasoup then forwards every spatial
 * layer up to the selected one, which every mode decodes from (K-SVC frames only reference their own layer; full SVC
 * frames reference the layers below), at the cost of the lower layers' bytes for a K-SVC sender — and those bytes
 * are what the per-layer bitrates measure (mediasoup's `bitrateByLayer["s.t"]` sums the spatial layers below).
 *
 * - VP9: the layers are in the payload descriptor (RFC 9628 §4.2); always SVC.
 * - AV1: the layers are only in the dependency descriptor header extension (AV1 RTP spec, appendix A). A sender
 *   that did not negotiate it is produced as one plain stream and forwarded whole (mediasoup's SVC consumer would
 *   wait for a keyframe it cannot recognise and forward nothing), as JVB forwards a source it cannot parse.
 */

/** The dependency descriptor header extension URI. */
export const DEPENDENCY_DESCRIPTOR_URI = 'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension';

/** The scalability mode SVC sources are produced with (three spatial, three temporal layers, full SVC). */
export const SVC_PRODUCER_MODE = 'L3T3';

/** Spatial layers of {@link SVC_PRODUCER_MODE}. */
export const SVC_SPATIAL_LAYERS = 3;

/** How a video source is produced: as SVC (one encoding, layers selected by mediasoup), or whole. */
export type SvcDecision = { svc: true; scalabilityMode: string } | { svc: false; reason?: string };

/**
 * Whether a video source sent with `codec` is produced as SVC.
 * @param codec mime subtype, any case (`VP9`, `AV1`, `VP8`...)
 * @param headerExtensionUris the header extensions the sender negotiated (its `<media>` rtp-hdrexts)
 * @returns `svc: false` with a `reason` when the codec has layers the bridge cannot see (AV1 without the dependency
 *   descriptor); `svc: false` without a reason for codecs that are never SVC here (VP8, H264: simulcast).
 */
export function svcDecision(codec: string, headerExtensionUris: readonly string[]): SvcDecision {
  switch (codec.toUpperCase()) {
    case 'VP9':
      return { svc: true, scalabilityMode: SVC_PRODUCER_MODE };
    case 'AV1':
      return headerExtensionUris.includes(DEPENDENCY_DESCRIPTOR_URI)
        ? { svc: true, scalabilityMode: SVC_PRODUCER_MODE }
        : { svc: false, reason: 'AV1 without the dependency descriptor header extension: layers cannot be parsed, forwarded whole' };
    default:
      return { svc: false };
  }
}
