// @ts-check
/**
 * Video codec choice and SVC sender settings of the page, as lib-jitsi-meet does them:
 *  - `preferVideoCodec`: LJM `TPCUtils.mungeCodecOrder` → `SDPUtil.preferCodec`: the preferred codec's payload
 *    types move to the front of the video m-line of the local description, so the browser sends with it.
 *  - `svcEncoding`: LJM `TPCUtils._calculateActiveEncodingParams` for a camera in full-SVC mode (VP9 and AV1 with
 *    `StandardVideoQualitySettings` `useSimulcast: false`, `useKSVC: true`): one encoding with a K-SVC scalability
 *    mode that has as many spatial layers as the requested height needs (720p and up `L3T3_KEY`, 360p `L2T3_KEY`,
 *    below `L1T3`), scaled to the requested height, capped at that quality level's bitrate.
 * Plain ES module, no build step.
 */

/** LJM `StandardVideoQualitySettings` `STANDARD_CODEC_SETTINGS.<codec>.maxBitratesVideo` (camera), bps. */
export const SVC_MAX_BITRATES_BPS = {
  AV1: { low: 100_000, standard: 300_000, high: 1_000_000, fullHd: 2_000_000, ultraHd: 4_000_000, none: 0 },
  VP9: { low: 100_000, standard: 300_000, high: 1_200_000, fullHd: 2_500_000, ultraHd: 5_000_000, none: 0 },
};

/**
 * The per-layer bitrates of VP9 / AV1 sent as 3-layer simulcast (LJM `TPCUtils` with `useSimulcast: true`: the codec's
 * `maxBitratesVideo` low / standard / high for the 1/4, 1/2 and full-scale encodings), bps.
 * @param {'VP9'|'AV1'} codec
 * @returns {number[]}
 */
export function simulcastBitrates(codec) {
  const b = SVC_MAX_BITRATES_BPS[codec];

  return [b.low, b.standard, b.high];
}

/** LJM `VIDEO_QUALITY_LEVELS`: the level of a height is that of the first entry whose height is ≤ it. */
const QUALITY_LEVELS = [
  { height: 2160, level: 'ultraHd' },
  { height: 1080, level: 'fullHd' },
  { height: 720, level: 'high' },
  { height: 540, level: 'standard' },
  { height: 480, level: 'standard' },
  { height: 360, level: 'standard' },
  { height: 270, level: 'low' },
  { height: 180, level: 'low' },
  { height: 90, level: 'low' },
  { height: 0, level: 'none' },
];

/**
 * The video codec asked for with `?codec=`, when it is one the page knows.
 * @param {string|null} value
 * @returns {'VP8'|'VP9'|'AV1'|'H264'|undefined}
 */
export function codecParam(value) {
  const upper = (value ?? '').toUpperCase();

  return ['VP8', 'VP9', 'AV1', 'H264'].includes(upper) ? /** @type {any} */ (upper) : undefined;
}

/** Whether a codec is sent as one SVC stream (LJM full-SVC mode). @param {string|undefined} codec */
export function isSvcCodec(codec) {
  return codec === 'VP9' || codec === 'AV1';
}

/**
 * The video codecs of an SDP's video m-lines (their `a=rtpmap` names), lower case, without RTX, RED and FEC.
 * @param {string} sdp
 * @returns {string[]}
 */
export function offeredVideoCodecs(sdp) {
  const out = new Set();
  let video = false;

  for (const line of sdp.split('\r\n')) {
    if (line.startsWith('m=')) video = line.startsWith('m=video');
    const map = video && /^a=rtpmap:\d+ ([^/]+)\//.exec(line);

    if (map) out.add(map[1].toLowerCase());
  }
  for (const c of ['rtx', 'red', 'ulpfec', 'flexfec-03']) out.delete(c);

  return [...out];
}

/**
 * Move `codec`'s payload types (and their RTX) to the front of every video m-line (LJM `SDPUtil.preferCodec`).
 * @param {string} sdp
 * @param {string} codec mime subtype, e.g. `AV1`
 * @returns {string} the SDP, unchanged when the codec is not in it
 */
export function preferVideoCodec(sdp, codec) {
  const lines = sdp.split('\r\n');
  let video = false;
  const rtpmap = new Map();
  const apt = new Map();

  for (const line of lines) {
    if (line.startsWith('m=')) video = line.startsWith('m=video');
    if (!video) continue;
    const map = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);

    if (map) rtpmap.set(map[1], map[2].toUpperCase());
    const fmtp = /^a=fmtp:(\d+) .*\bapt=(\d+)/.exec(line);

    if (fmtp) apt.set(fmtp[1], fmtp[2]);
  }

  return lines
    .map((line) => {
      if (!line.startsWith('m=video')) return line;
      const [m, port, proto, ...pts] = line.split(' ');
      const main = pts.filter((pt) => rtpmap.get(pt) === codec.toUpperCase());
      const rtx = pts.filter((pt) => main.includes(apt.get(pt)));
      const front = [...main, ...rtx];

      return front.length ? [m, port, proto, ...front, ...pts.filter((pt) => !front.includes(pt))].join(' ') : line;
    })
    .join('\r\n');
}

/**
 * The sender encodings for a camera sent as one SVC stream (LJM `_calculateActiveEncodingParams` and
 * `_getVideoStreamEncodings`: the first encoding carries the stream, the other two of the SIM group stay off).
 * @param {'VP9'|'AV1'} codec
 * @param {number} captureHeight px
 * @param {number} maxHeight the bridge's last `SenderSourceConstraints` (px); -1 before any (all layers); 0 = off
 * @returns {{active: boolean, maxBitrate?: number, scalabilityMode?: string, scaleResolutionDownBy?: number}[]}
 *   three encodings
 */
export function svcEncodings(codec, captureHeight, maxHeight) {
  const height = maxHeight < 0 || maxHeight > captureHeight ? captureHeight : maxHeight;
  const { level } = QUALITY_LEVELS.find((l) => l.height <= height) ?? { level: 'none' };
  const bitrates = SVC_MAX_BITRATES_BPS[codec];
  let scalabilityMode = 'L1T3';

  if (level === 'ultraHd' || level === 'fullHd' || level === 'high') scalabilityMode = 'L3T3_KEY';
  else if (level === 'standard') scalabilityMode = 'L2T3_KEY';
  const first =
    height > 0
      ? { active: true, maxBitrate: bitrates[level] || bitrates.low, scalabilityMode, scaleResolutionDownBy: captureHeight / height }
      : { active: false };

  return [first, { active: false }, { active: false }];
}
