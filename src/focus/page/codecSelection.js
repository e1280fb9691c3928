// @ts-check
/**
 * The page's video codec choice, as lib-jitsi-meet makes it (LJM `modules/qualitycontrol/CodecSelection.ts`):
 *  - `codecPreferenceOrder`: the local order. LJM's desktop default is AV1, VP9, VP8, H.264 (or
 *    `videoQuality.codecPreferenceOrder` from config.js), kept to the codecs the browser decodes
 *    (`RTCRtpReceiver.getCapabilities`), then AV1 moved last on Firefox (it encodes AV1 without SVC) and VP9 moved last
 *    where LJM `BrowserCapabilities.supportsVP9` is false (Firefox, WebKit), AV1 dropped on Firefox 156 and WebKit.
 *    This list is what the participant announces (presence `jitsi_participant_codecList`, lower case).
 *  - `selectVideoCodec`: `CodecSelection.selectPreferredCodec`: the first local codec that every other participant
 *    announces (participants that announce none, e.g. a transcriber, do not count); none when no codec is common (LJM
 *    then keeps what it sends). Chosen again when a participant joins or leaves.
 * Plain ES module, no build step.
 */

/** LJM `DESKTOP_VIDEO_CODEC_ORDER`. */
export const DESKTOP_VIDEO_CODEC_ORDER = ['av1', 'vp9', 'vp8', 'h264'];

/** The codecs a codec list may name (LJM `CodecMimeType` for video). */
const VIDEO_CODECS = new Set(DESKTOP_VIDEO_CODEC_ORDER);

/**
 * A comma-separated codec list (`?codecs=VP8,H264`), lower case, known codecs only, without repeats.
 * @param {string|null|undefined} value
 * @returns {string[]} empty when nothing usable is given
 */
export function parseCodecList(value) {
  const out = [];

  for (const name of (value ?? '').split(',')) {
    const codec = name.trim().toLowerCase();

    if (VIDEO_CODECS.has(codec) && !out.includes(codec)) out.push(codec);
  }

  return out;
}

/**
 * The local codec preference order (LJM `CodecSelection` constructor, `jvb` connection).
 * @param {object} opts
 * @param {string[]} [opts.configured] `videoQuality.codecPreferenceOrder` (lower case); LJM's desktop order without it
 * @param {string[]} opts.decodable mime types the browser decodes (`RTCRtpReceiver.getCapabilities('video')`), e.g.
 *   `video/VP8`
 * @param {{firefox?: number, webkit?: boolean}} [opts.browser] Firefox's major version, or WebKit
 * @returns {string[]} lower case, never empty (VP8 when nothing else is known, as LJM)
 */
export function codecPreferenceOrder({ configured, decodable, browser = {} }) {
  const supported = DESKTOP_VIDEO_CODEC_ORDER.filter((c) => decodable.some((m) => m.toLowerCase() === `video/${c}`));

  if (!supported.length) supported.push('vp8');
  let order = configured?.length ? configured.filter((c) => supported.includes(c)) : [...supported];
  const firefox = browser.firefox !== undefined;

  if (firefox && browser.firefox === 156) order = order.filter((c) => c !== 'av1');
  const last = [...(firefox ? ['av1'] : []), ...(firefox || browser.webkit ? ['vp9'] : [])];

  for (const codec of last) {
    if (order.includes(codec)) order = [...order.filter((c) => c !== codec), codec];
  }
  if (browser.webkit) order = order.filter((c) => c !== 'av1');

  return order.length ? order : ['vp8'];
}

/**
 * The codec to send with (LJM `CodecSelection.selectPreferredCodec`).
 * @param {string[]} local the local preference order (lower case)
 * @param {string[][]} remote each other participant's announced list (lower case; empty = announces none)
 * @param {string[]} [offered] the video codecs of the bridge's offer (lower case): a codec it lacks cannot be sent
 * @returns {string|undefined} lower case; undefined when no codec is common (keep the current one)
 */
export function selectVideoCodec(local, remote, offered) {
  return local.find((codec) => (!offered || offered.includes(codec)) && remote.every((list) => !list.length || list.includes(codec)));
}

/**
 * The browser as LJM's `BrowserCapabilities` tells it apart, from a user agent string.
 * @param {string} userAgent
 * @returns {{firefox?: number, webkit?: boolean}}
 */
export function browserOf(userAgent) {
  const firefox = /\bFirefox\/(\d+)/.exec(userAgent);

  if (firefox) return { firefox: Number(firefox[1]) };

  // `HeadlessChrome/` too.
  return /\bAppleWebKit\//.test(userAgent) && !/Chrom(e|ium)\//.test(userAgent) ? { webkit: true } : {};
}
