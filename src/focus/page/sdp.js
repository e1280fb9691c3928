// @ts-check
/**
 * SDP logic of the standalone page: Jingle (as JSON, see ../protocol.ts) → remote offer SDP, SSRC-rewriting
 * source maps → new remote offer, local answer → Jingle `session-accept`.
 *
 * Pure functions, no DOM. Everything here follows lib-jitsi-meet (LJM) so that the bridge sees exactly what it
 * would see from a Jitsi Meet client on the same browser:
 *   - `modules/sdp/SDP.ts` (`fromJingle`, `jingle2media`, `addMlineForNewSource`, `updateRemoteSources`, `toJingle`,
 *     `transportToJingle`), `modules/sdp/SDPUtil.ts`,
 *   - `modules/xmpp/JingleSessionPC.ts` (`processSourceMap`),
 *   - `modules/RTC/TPCUtils.ts` (`ensureCorrectOrderOfSsrcs`), `modules/sdp/LocalSdpMunger.ts`.
 *
 * LJM pins sdp-transform 2.3.0; this page gets whatever the server serves (3.x). The two differ in one way that
 * shows in the output: 2.3.0 does not know `a=extmap-allow-mixed`, `a=sctp-port`, `a=max-message-size` (and a few
 * rarer attributes), so it keeps them as "invalid" lines and writes them last in every section, in the order read.
 * {@link legacyParse} reproduces that, so the SDP we apply is byte-identical to LJM's.
 *
 * Shapes (JSDoc only; the TypeScript originals are in ../protocol.ts and ../../colibri2/types.ts):
 * @typedef {import('../protocol.ts').JingleSession} JingleSession
 * @typedef {import('../protocol.ts').JingleContent} JingleContent
 * @typedef {import('../protocol.ts').JingleSource} JingleSource
 * @typedef {import('../../colibri2/types.ts').IceCandidate} IceCandidate
 *
 * @typedef {object} MappedSource  One entry of a bridge `VideoSourcesMap` / `AudioSourcesMap` `mappedSources`.
 * @property {string} source       Source name, e.g. `abcd1234-v0`.
 * @property {string} owner        Endpoint id of the sender.
 * @property {number} ssrc         SSRC the bridge uses towards this receiver.
 * @property {number} [rtx]        RTX SSRC (video); absent or -1 when there is none.
 * @property {string} [videoType]  `CAMERA` | `DESKTOP` ... (video).
 * @property {string} [mid]        rtp-mid-demux: the mid to use for the new m-line.
 *
 * @typedef {object} SsrcInfo  What the page knows about one remote SSRC (LJM signaling layer `setSSRCOwner`).
 * @property {'audio'|'video'} mediaType
 * @property {string} mid          The mid of the m-line that carries it.
 * @property {string|null} owner   null once the source moved to another SSRC or its owner left.
 * @property {string|null} source
 * @property {string} msid
 * @property {number} [rtx]
 * @property {string} [videoType]  Lower case (`camera`, `desktop` ...), as LJM stores it.
 *
 * @typedef {object} SourceCounters  Per-session state of {@link addSourcesToRemoteSdp}; plain JSON.
 * @property {number} audio  LJM `numRemoteAudioSources` (msid `remote-audio-N`).
 * @property {number} video  LJM `numRemoteVideoSources` (msid `remote-video-N`).
 * @property {Record<string, SsrcInfo>} ssrcs  Every SSRC ever signalled (LJM TPC `_remoteSsrcs`), by SSRC.
 * @property {Record<string, number>} sources  Current SSRC of each source name (LJM TPC `remoteSources`).
 */
import sdpTransform from 'sdp-transform';

const CRLF = '\r\n';

/** Attribute names sdp-transform 2.3.0 parses; every other `a=` line ends up in its `invalid` list. */
const KNOWN_TO_SDP_TRANSFORM_2_3 = new Set([
  'rtpmap',
  'fmtp',
  'control',
  'rtcp',
  'rtcp-fb',
  'extmap',
  'crypto',
  'setup',
  'mid',
  'msid',
  'ptime',
  'maxptime',
  'sendrecv',
  'recvonly',
  'sendonly',
  'inactive',
  'ice-lite',
  'ice-ufrag',
  'ice-pwd',
  'fingerprint',
  'candidate',
  'end-of-candidates',
  'remote-candidates',
  'ice-options',
  'ssrc',
  'ssrc-group',
  'msid-semantic',
  'group',
  'rtcp-mux',
  'rtcp-rsize',
  'sctpmap',
  'x-google-flag',
  'rid',
  'imageattr',
  'simulcast',
  'framerate',
]);

/** Keys later sdp-transform versions add for attributes 2.3.0 does not know (plus `invalid`, rebuilt). */
const NEWER_SDP_TRANSFORM_KEYS = [
  'extmapAllowMixed',
  'connectionType',
  'sourceFilter',
  'bundleOnly',
  'label',
  'sctpPort',
  'maxMessageSize',
  'tsRefClocks',
  'mediaClk',
  'keywords',
  'content',
  'bfcpFloorCtrl',
  'bfcpConfId',
  'bfcpUserId',
  'bfcpFloorId',
  'invalid',
];

const JINGLE_DIRECTION = { initiator: 'sendonly', responder: 'recvonly', none: 'inactive', both: 'sendrecv' };
const SENDERS_OF_DIRECTION = { sendrecv: 'both', sendonly: 'initiator', recvonly: 'responder', inactive: 'none' };

// ---------------------------------------------------------------------------------------------------------------
// Small text helpers (SDPUtil-like)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Splits an SDP into sections of lines: `[sessionLines, media0Lines, media1Lines, ...]`.
 * @param {string} sdp
 * @returns {string[][]}
 */
export function splitSections(sdp) {
  /** @type {string[][]} */
  const sections = [[]];

  for (const line of sdp.split(/\r?\n/)) {
    if (!line) continue;
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1].push(line);
  }

  return sections;
}

/** @param {string} line an `a=` line @returns {string} the attribute name (`ssrc`, `extmap-allow-mixed` ...). */
function attributeName(line) {
  return /^a=([^:\s]*)/.exec(line)?.[1] ?? '';
}

/** First line of `lines` starting with `prefix`, else of `fallback` (LJM `SDPUtil.findLine` with a session part). */
function findLine(lines, prefix, fallback = []) {
  return lines.find((l) => l.startsWith(prefix)) ?? fallback.find((l) => l.startsWith(prefix));
}

/** All lines of `lines` starting with `prefix`; if none, those of `fallback` (LJM `SDPUtil.findLines`). */
function findLines(lines, prefix, fallback = []) {
  const found = lines.filter((l) => l.startsWith(prefix));

  return found.length ? found : fallback.filter((l) => l.startsWith(prefix));
}

/** LJM `SDPUtil.filterSpecialChars`. @param {string} text */
function filterSpecialChars(text) {
  return text ? text.replace(/[\\/{,}+]/g, '') : text;
}

// ---------------------------------------------------------------------------------------------------------------
// sdp-transform 2.3.0 compatible parse / write
// ---------------------------------------------------------------------------------------------------------------

/**
 * `sdpTransform.parse` with the result shaped as sdp-transform 2.3.0 (LJM's pinned version) would shape it: the
 * attributes 2.3.0 does not know are removed from their typed keys and kept, in the order read, as
 * `invalid: [{value}]` of their section, which `sdpTransform.write` writes last. `sdpTransform.write` of the
 * result therefore gives 2.3.0's output.
 * @param {string} sdp
 * @returns {any} the sdp-transform session object
 */
export function legacyParse(sdp) {
  const session = sdpTransform.parse(sdp);
  const sections = splitSections(sdp);

  [session, ...session.media].forEach((target, i) => {
    for (const key of NEWER_SDP_TRANSFORM_KEYS) delete target[key];
    const invalid = (sections[i] ?? [])
      .filter((l) => l.startsWith('a=') && !KNOWN_TO_SDP_TRANSFORM_2_3.has(attributeName(l)))
      .map((l) => ({ value: l.slice(2) }));

    if (invalid.length) target.invalid = invalid;
  });

  return session;
}

/**
 * LJM `TPCUtils.ensureCorrectOrderOfSsrcs`: in every video m-line with ssrc-groups, the `a=ssrc` lines are put in
 * the order of the SSRCs in the groups (primary before RTX). SSRCs in no group are dropped, as in LJM.
 * Mutates and returns `session`.
 * @param {any} session sdp-transform session object
 */
function ensureCorrectOrderOfSsrcs(session) {
  for (const mLine of session.media) {
    if (mLine.type === 'audio' || !mLine.ssrcGroups?.length) continue;
    const order = new Set();

    for (const g of mLine.ssrcGroups) for (const s of String(g.ssrcs).split(' ').filter(Boolean)) order.add(s);
    mLine.ssrcs = [...order].flatMap((s) => (mLine.ssrcs ?? []).filter((src) => String(src.id) === s));
  }

  return session;
}

// ---------------------------------------------------------------------------------------------------------------
// Local simulcast (LJM modules/sdp/SdpSimulcast.ts + RtxModifier.js, Chromium's SDP-munging simulcast)
// ---------------------------------------------------------------------------------------------------------------

/** Number of simulcast layers LJM sends (StandardVideoQualitySettings `SIM_LAYERS`, scale factors 4, 2, 1). */
export const SIM_LAYER_COUNT = 3;

/** LJM `SdpSimulcast._generateSsrc` / `SDPUtil.generateSsrc`: a random non-zero 32-bit SSRC. */
function generateSsrc() {
  return 1 + Math.floor(Math.random() * 0xfffffffe);
}

/** The value of `attribute` of `ssrc` in an sdp-transform media section. */
function ssrcAttribute(mLine, ssrc, attribute) {
  return mLine.ssrcs?.find((s) => Number(s.id) === ssrc && s.attribute === attribute)?.value;
}

/**
 * @typedef {object} SimulcastCache  Per-session state of {@link mungeSimulcast}; plain JSON, reused across
 *   renegotiations so that the SSRCs of a sending m-line never change (LJM keeps them per mid).
 * @property {Record<string, number[]>} sim  SIM SSRCs (low to high layer) by mid.
 * @property {Record<string, number>} rtx    RTX SSRC by primary SSRC.
 */

/** @returns {SimulcastCache} */
export function createSimulcastCache() {
  return { sim: {}, rtx: {} };
}

/**
 * LJM `SdpSimulcast.mungeLocalDescription` followed by `RtxModifier.modifyRtxSsrcs`: every sending video m-line
 * (`sendrecv`/`sendonly`) with a single stream (one SSRC, or primary + RTX in a FID group) gets two more SSRCs and
 * an `a=ssrc-group:SIM` of three (low, mid, high), then every primary gets its RTX SSRC and FID group. The SSRCs are
 * cached per mid in `cache` (mutated) so that later answers reuse them. Chromium turns the SIM group of a local
 * description into three encodings of the sender (legacy SDP-munging simulcast, which LJM relies on).
 * @param {string} sdp the local description from createAnswer/createOffer
 * @param {SimulcastCache} cache
 * @returns {string} the munged SDP (sdp-transform 2.3.0 layout, as LJM writes it)
 */
export function mungeSimulcast(sdp, cache) {
  const session = legacyParse(sdp);

  for (const mLine of session.media) {
    if (mLine.type !== 'video' || (mLine.direction !== 'sendrecv' && mLine.direction !== 'sendonly')) continue;
    const ids = [...new Set((mLine.ssrcs ?? []).map((s) => Number(s.id)))];
    const groups = mLine.ssrcGroups ?? [];

    if (ids.length === 0 || ids.length > 2 || (ids.length === 2 && groups.length === 0)) continue;
    const fid = groups.find((g) => g.semantics === 'FID');
    const primary = ids.length === 1 ? ids[0] : Number(String(fid?.ssrcs).split(' ')[0]);
    const cname = ssrcAttribute(mLine, primary, 'cname');
    const msid = ssrcAttribute(mLine, primary, 'msid') ?? mLine.msid;
    const cached = cache.sim[mLine.mid];
    const sim = cached ?? [primary, ...Array.from({ length: SIM_LAYER_COUNT - 1 }, generateSsrc)];

    cache.sim[mLine.mid] = sim;
    if (!cached) {
      // RTX of the primary as the browser chose it, kept (RtxModifier: "already one in the sdp").
      const rtx = fid ? Number(String(fid.ssrcs).split(' ')[1]) : undefined;

      if (rtx) cache.rtx[primary] = rtx;
    }
    mLine.ssrcs = [];
    mLine.ssrcGroups = [{ semantics: 'SIM', ssrcs: sim.join(' ') }];
    for (const ssrc of sim) {
      mLine.ssrcs.push({ id: ssrc, attribute: 'cname', value: cname }, { id: ssrc, attribute: 'msid', value: msid });
    }
    for (const ssrc of sim) {
      const rtx = cache.rtx[ssrc] ?? generateSsrc();

      cache.rtx[ssrc] = rtx;
      mLine.ssrcs.push({ id: rtx, attribute: 'cname', value: cname }, { id: rtx, attribute: 'msid', value: msid });
      mLine.ssrcGroups.push({ semantics: 'FID', ssrcs: `${ssrc} ${rtx}` });
    }
  }

  return sdpTransform.write(session);
}

/**
 * LJM `TPCUtils.calculateEncodingsActiveState` for a camera sent as simulcast: which of the encodings (low to high,
 * scaled down by 4, 2, 1 from `captureHeight`) to keep active when the bridge asks for at most `maxHeight`
 * (`SenderSourceConstraints`): those whose height is ≤ `maxHeight`, and always the lowest one; none for 0; all for
 * -1 (unknown / unlimited, the state before any constraint arrives).
 * @param {number} captureHeight px
 * @param {number} maxHeight px, 0 or -1
 * @returns {boolean[]} one per layer, low to high
 */
export function simulcastActiveState(captureHeight, maxHeight) {
  return [4, 2, 1].map((scale, idx) => {
    if (maxHeight < 0) return true;
    if (maxHeight === 0) return false;

    return idx === 0 || captureHeight / scale <= maxHeight;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Jingle → SDP (LJM SDP.fromJingle / jingle2media)
// ---------------------------------------------------------------------------------------------------------------

/**
 * LJM `SDPUtil.candidateFromJingle`.
 * @param {IceCandidate} c
 * @returns {string} the `a=candidate` line with CRLF
 */
export function candidateFromJingle(c) {
  let line = `a=candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type} `;

  if (['srflx', 'prflx', 'relay'].includes(c.type) && c.relAddr && c.relPort) {
    line += `raddr ${c.relAddr} rport ${c.relPort} `;
  }
  if (String(c.protocol).toLowerCase() === 'tcp') line += `tcptype ${c.tcptype} `;

  return `${line}generation ${c.generation || 0}${CRLF}`;
}

/** The m-line and (for RTP) the `c=`/`a=rtcp` lines of a content. */
function mediaLineFromJingle(content) {
  const { description: desc, transport } = content;
  const sctp = transport?.sctpmap;
  const port = /** @type {string} */ (content.senders) === 'rejected' ? '0' : '9';

  if (sctp) {
    return (
      `m=application ${port} UDP/DTLS/SCTP webrtc-datachannel${CRLF}` +
      `a=sctp-port:${sctp.number}${CRLF}a=max-message-size:262144${CRLF}c=IN IP4 0.0.0.0${CRLF}`
    );
  }

  return (
    `m=${desc.media} ${port} UDP/TLS/RTP/SAVPF ${desc.payloadTypes.map((pt) => pt.id).join(' ')}${CRLF}` +
    `c=IN IP4 0.0.0.0${CRLF}a=rtcp:1 IN IP4 0.0.0.0${CRLF}`
  );
}

/** ufrag, pwd, fingerprints (+ setup) and candidates of a Jingle transport. */
function transportFromJingle(transport) {
  if (!transport) return '';
  let sdp = '';

  if (transport.ufrag) sdp += `a=ice-ufrag:${transport.ufrag}${CRLF}`;
  if (transport.pwd) sdp += `a=ice-pwd:${transport.pwd}${CRLF}`;
  for (const fp of transport.fingerprints ?? []) {
    sdp += `a=fingerprint:${fp.hash} ${fp.value}${CRLF}`;
    if (fp.setup) sdp += `a=setup:${fp.setup}${CRLF}`;
  }
  for (const c of transport.candidates ?? []) sdp += candidateFromJingle(c);

  return sdp;
}

/** rtpmap / fmtp / rtcp-fb lines of one payload type (LJM `buildRTPMap`, fmtp join, `rtcpFbFromJingle`). */
function payloadTypeFromJingle(pt) {
  let sdp = `a=rtpmap:${pt.id} ${pt.name}/${pt.clockrate}`;

  if (pt.channels && String(pt.channels) !== '1') sdp += `/${pt.channels}`;
  sdp += CRLF;
  if (pt.parameters?.length) {
    sdp += `a=fmtp:${pt.id} ${pt.parameters.map((p) => (p.name ? `${p.name}=` : '') + p.value).join(';')}${CRLF}`;
  }
  for (const fb of pt.rtcpFbs ?? []) sdp += `a=rtcp-fb:${pt.id} ${fb.type}${fb.subtype ? ` ${fb.subtype}` : ''}${CRLF}`;

  return sdp;
}

/**
 * The msid of a Jingle source. Jicofo gives the bridge's feedback sources (owner `jvb`) the msid
 * `mixedmslabel mixedlabel<media>0` (jicofo `Extensions.kt` `parseSources`); supply it if the focus left it out.
 */
function sourceMsid(source, media) {
  if (source.msid !== undefined) return source.msid;

  return source.owner === 'jvb' ? `mixedmslabel mixedlabel${media}0` : undefined;
}

/** ssrc-group lines, then the `a=ssrc ... msid` lines, bridge (`mixedmslabel`) sources first. */
function sourcesFromJingle(desc) {
  let sdp = '';
  let userSources = '';
  let bridgeSources = '';

  for (const group of desc.ssrcGroups ?? []) {
    if (group.ssrcs.length) sdp += `a=ssrc-group:${group.semantics} ${group.ssrcs.join(' ')}${CRLF}`;
  }
  for (const source of desc.sources ?? []) {
    const msid = filterSpecialChars(sourceMsid(source, desc.media));

    if (msid === undefined) continue; // LJM writes only <parameter> children; no msid, no line.
    const line = `a=ssrc:${source.ssrc} msid${msid.length ? `:${msid}` : ''}${CRLF}`;

    if (msid.includes('mixedmslabel')) bridgeSources += line;
    else userSources += line;
  }

  return sdp + bridgeSources + userSources;
}

/**
 * LJM `SDP.jingle2media`: one media section, as raw text in LJM's order (before the sdp-transform round trip).
 * @param {JingleContent} content
 * @returns {string}
 */
export function jingleContentToMedia(content) {
  const desc = content.description;
  let sdp = mediaLineFromJingle(content) + transportFromJingle(content.transport);
  const direction = JINGLE_DIRECTION[content.senders];

  if (direction) sdp += `a=${direction}${CRLF}`;
  sdp += `a=mid:${content.name}${CRLF}`;
  if (desc?.rtcpMux) sdp += `a=rtcp-mux${CRLF}`;
  if (desc) {
    for (const pt of desc.payloadTypes ?? []) sdp += payloadTypeFromJingle(pt);
    for (const ext of desc.rtpHdrExts ?? []) sdp += `a=extmap:${ext.id} ${ext.uri}${CRLF}`;
    if (desc.extmapAllowMixed) sdp += `a=extmap-allow-mixed${CRLF}`;
  }
  if (desc) sdp += sourcesFromJingle(desc);

  return sdp;
}

/**
 * The non-P2P part of LJM `SDP.fromJingle`: one m-line per remote source (first source of a jicofo content
 * `sendrecv`, the others `sendonly`, the FID partner moved along), m-lines without sources and the data m-line
 * copied, mids renumbered "0", "1", ...
 * @param {any[]} media sdp-transform media objects
 * @returns {any[]}
 */
function splitMediaPerSource(media) {
  const result = [];
  const add = (mLine) => {
    mLine.mid = String(result.length);
    result.push(mLine);
  };

  for (const mLine of media) {
    if (mLine.type === 'application' || !mLine.ssrcs?.length) {
      add(structuredClone(mLine));
      continue;
    }
    mLine.ssrcs.forEach((ssrc, idx) => {
      if (result.some((m) => m.ssrcs?.some((s) => s.id === ssrc.id))) return;
      const newMLine = Object.assign(structuredClone(mLine), { ssrcs: [], ssrcGroups: [], direction: idx ? 'sendonly' : 'sendrecv' });
      const ssrcId = String(ssrc.id);
      const group = mLine.ssrcGroups?.find((g) => String(g.ssrcs).split(' ').includes(ssrcId));

      delete newMLine.bundleOnly;
      newMLine.ssrcs.push(ssrc);
      if (group) {
        const other = String(group.ssrcs)
          .split(' ')
          .find((s) => s !== ssrcId);
        const otherSource = other && mLine.ssrcs.find((s) => String(s.id) === other);

        if (otherSource) newMLine.ssrcs.push(otherSource);
        newMLine.ssrcGroups.push(group);
      }
      add(newMLine);
    });
  }

  return result;
}

/**
 * Builds the remote offer SDP from Jicofo's `session-initiate`, exactly as LJM applies it on Chromium:
 * `SDP.fromJingle` (+ `jingle2media` per content) with the non-P2P post-processing (one m-line per source, mids
 * "0","1","2"..., `a=group:BUNDLE 0 1 2`, `a=msid-semantic: WMS *`, session version 3), then
 * `TPCUtils.ensureCorrectOrderOfSsrcs`. No `a=ice-lite` (Jingle cannot carry it), `a=setup` from the fingerprint,
 * data m-line with `a=sctp-port` + `a=max-message-size:262144`. The browser thus answers as the ICE-controlled
 * agent (RFC 8445 §6.1.1), and the bridge, given the answer's ufrag/pwd, nominates (as JVB does).
 *
 * `iceLite` (not LJM; the forwarding bench's `--ice-lite`) adds a session-level `a=ice-lite`, the one thing that
 * differs: with it the answerer takes the controlling role from the start (RFC 8445 §6.1.1).
 *
 * @param {JingleSession} jingle the `session-initiate` body
 * @param {{sessionId?: number|string, iceLite?: boolean}} [options] `sessionId` for the `o=` line (LJM:
 *   `Date.now()`); `iceLite` default false
 * @returns {string} the offer SDP (CRLF line ends, trailing CRLF)
 */
export function jingleToSdp(jingle, { sessionId = Date.now(), iceLite = false } = {}) {
  const raw = `v=0${CRLF}o=- ${sessionId} 2 IN IP4 0.0.0.0${CRLF}s=-${CRLF}t=0 0${CRLF}` + jingle.contents.map(jingleContentToMedia).join('');
  const session = legacyParse(raw);

  if (iceLite) session.icelite = 'ice-lite';
  session.media = splitMediaPerSource(session.media);
  if (jingle.groups?.length) session.groups = [{ type: 'BUNDLE', mids: session.media.map((m) => m.mid).join(' ') }];
  session.msidSemantic = { semantic: 'WMS', token: '*' };
  session.origin.sessionVersion++;

  return sdpTransform.write(ensureCorrectOrderOfSsrcs(session));
}

// ---------------------------------------------------------------------------------------------------------------
// SSRC rewriting: VideoSourcesMap / AudioSourcesMap (LJM JingleSessionPC.processSourceMap)
// ---------------------------------------------------------------------------------------------------------------

/**
 * A fresh per-session state for {@link addSourcesToRemoteSdp} (LJM's counters start at 0 per Jingle session).
 * @returns {SourceCounters}
 */
export function createSourceCounters() {
  return { audio: 0, video: 0, ssrcs: {}, sources: {} };
}

/** @param {unknown} rtx @returns {boolean} whether a map entry carries a usable RTX SSRC */
function hasRtx(rtx) {
  return rtx !== undefined && rtx !== null && String(rtx) !== '-1';
}

/**
 * LJM `SDP.addMlineForNewSource` (remote, non-P2P) followed by `updateRemoteSources`' `a=ssrc` / `a=ssrc-group`
 * lines: clones the first m-line of `mediaType`, makes it `sendonly` with the given mid and sources, extends BUNDLE.
 * Mutates `session`.
 */
function addMLineForSource(session, mediaType, mid, ssrcs, msid) {
  const template = session.media.find((m) => m.type === mediaType);

  if (!template) throw new Error(`no ${mediaType} m-line in the remote description`);
  const mLine = Object.assign(structuredClone(template), { mid, direction: 'sendonly' });

  delete mLine.msid;
  mLine.ssrcs = ssrcs.map((id) => ({ id, attribute: 'msid', value: msid }));
  mLine.ssrcGroups = ssrcs.length > 1 ? [{ semantics: 'FID', ssrcs: ssrcs.join(' ') }] : undefined;
  session.media.push(mLine);
  for (const group of session.groups ?? []) {
    if (group.type === 'BUNDLE') group.mids = [...String(group.mids).split(' '), mid].join(' ');
  }
}

/**
 * Applies a bridge `VideoSourcesMap` / `AudioSourcesMap` to the current remote description, as LJM does with SSRC
 * rewriting (`JingleSessionPC.processSourceMap` → fake `source-add` → `SDP.updateRemoteSources` /
 * `addMlineForNewSource` → `TPCUtils.ensureCorrectOrderOfSsrcs`):
 *  - an entry whose SSRC was never seen gets a new m-line cloned from the first m-line of `mediaType`:
 *    mid = the entry's `mid` if present else `String(media.length)`, `a=sendonly`, `a=ssrc:<ssrc> msid:remote-video-N
 *    remote-video-N` (or `remote-audio-N`), then the RTX SSRC and `a=ssrc-group:FID ssrc rtx` for video when `rtx` is
 *    present and not -1. If the source had another SSRC before, that SSRC loses its owner (its m-line stays).
 *  - an entry with a known SSRC only re-maps owner/source (slot re-use): no SDP change.
 * Nothing is ever removed from the SDP.
 *
 * @param {string} currentRemoteSdp `pc.remoteDescription.sdp` (the browser's re-serialisation, as LJM uses)
 * @param {'audio'|'video'} mediaType
 * @param {MappedSource[]} entries `mappedSources` of the message
 * @param {SourceCounters} counters state from {@link createSourceCounters} or the previous call (not mutated)
 * @returns {{
 *   sdp: string,                 // the new offer, or currentRemoteSdp unchanged when `changed` is false
 *   changed: boolean,            // whether a renegotiation is needed
 *   counters: SourceCounters,    // the new state, to pass to the next call
 *   added: Array<{mid: string, ssrc: number, rtx?: number, source: string, owner: string, msid: string, videoType?: string}>,
 *   remapped: Array<{ssrc: number, source: string, owner: string, previousSource: string|null, previousOwner: string|null}>,
 *   unmapped: number[],          // SSRCs whose source moved to a new SSRC (owner cleared)
 * }}
 */
export function addSourcesToRemoteSdp(currentRemoteSdp, mediaType, entries, counters) {
  const state = structuredClone(counters);
  /** @type {{added: Array<{mid: string, ssrc: number, rtx?: number, source: string, owner: string, msid: string, videoType?: string}>, remapped: Array<{ssrc: number, source: string, owner: string, previousSource: string|null, previousOwner: string|null}>, unmapped: number[]}} */
  const result = { added: [], remapped: [], unmapped: [] };
  const newEntries = [];

  for (const entry of entries) {
    const key = String(entry.ssrc);
    const known = state.ssrcs[key];

    if (!known) {
      const oldSsrc = state.sources[entry.source];

      if (oldSsrc !== undefined && state.ssrcs[oldSsrc] && oldSsrc !== entry.ssrc) {
        Object.assign(state.ssrcs[oldSsrc], { owner: null, source: null });
        result.unmapped.push(oldSsrc);
      }
      state.ssrcs[key] = { mediaType, mid: '', owner: entry.owner, source: entry.source, msid: '' };
      newEntries.push(entry);
    } else if (known.owner !== entry.owner || known.source !== entry.source) {
      result.remapped.push({
        ssrc: entry.ssrc,
        source: entry.source,
        owner: entry.owner,
        previousSource: known.source,
        previousOwner: known.owner,
      });
      if (known.source && state.sources[known.source] === entry.ssrc) delete state.sources[known.source];
      Object.assign(known, { owner: entry.owner, source: entry.source });
      if (entry.videoType) known.videoType = String(entry.videoType).toLowerCase();
      state.sources[entry.source] = entry.ssrc;
    }
  }

  if (!newEntries.length) return { sdp: currentRemoteSdp, changed: false, counters: state, ...result };

  const session = legacyParse(currentRemoteSdp);

  for (const entry of newEntries) {
    const idx = ++state[mediaType];
    const msid = `remote-${mediaType}-${idx} remote-${mediaType}-${idx}`;
    const withRtx = mediaType === 'video' && hasRtx(entry.rtx);
    const mid = entry.mid !== undefined && entry.mid !== null ? String(entry.mid) : String(session.media.length);
    const info = state.ssrcs[String(entry.ssrc)];

    addMLineForSource(session, mediaType, mid, withRtx ? [entry.ssrc, entry.rtx] : [entry.ssrc], msid);
    Object.assign(info, { mid, msid });
    if (withRtx) info.rtx = Number(entry.rtx);
    if (entry.videoType) info.videoType = String(entry.videoType).toLowerCase();
    state.sources[entry.source] = entry.ssrc;
    result.added.push({
      mid,
      ssrc: entry.ssrc,
      ...(withRtx ? { rtx: Number(entry.rtx) } : {}),
      source: entry.source,
      owner: entry.owner,
      msid,
      ...(info.videoType ? { videoType: info.videoType } : {}),
    });
  }

  return { sdp: sdpTransform.write(ensureCorrectOrderOfSsrcs(session)), changed: true, counters: state, ...result };
}

// ---------------------------------------------------------------------------------------------------------------
// Without SSRC rewriting: Jingle source-add / source-remove (LJM JingleSessionPC._processRemoteAddSource /
// _processRemoteRemoveSource → SDP.updateRemoteSources)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Jingle sources grouped per source name, as LJM builds its `sourceMap` from a `source-add` / `source-remove`:
 * `{mediaType, msid, ssrcList, groups, owner, videoType}` per name, in signalling order.
 * @param {Array<{media: 'audio'|'video', sources: any[], ssrcGroups: Array<{semantics: string, ssrcs: number[]}>}>} contents
 */
export function jingleSourceMap(contents) {
  const map = new Map();

  for (const content of contents) {
    for (const source of content.sources ?? []) {
      const name = source.name ?? `${source.owner}-${content.media === 'audio' ? 'a' : 'v'}0`;
      let entry = map.get(name);

      if (!entry) {
        entry = {
          mediaType: content.media,
          msid: source.msid ?? `${source.owner}-${content.media}`,
          ssrcList: [],
          groups: [],
          owner: source.owner ?? null,
          videoType: source.videoType?.toLowerCase(),
        };
        map.set(name, entry);
      }
      entry.ssrcList.push(Number(source.ssrc));
    }
    for (const group of content.ssrcGroups ?? []) {
      const entry = [...map.values()].find((e) => group.ssrcs.some((s) => e.ssrcList.includes(Number(s))));

      entry?.groups.push({ semantics: group.semantics, ssrcs: group.ssrcs.map(Number) });
    }
  }

  return map;
}

/**
 * The sources of an offer (`session-initiate` contents, or a `source-add`) as {@link SourceCounters} entries, for a
 * participant without SSRC rewriting: each SSRC of a remote participant's source gets its owner and source name, as
 * LJM reads them from `<ssrc-info owner>` and the source `name`. The bridge's own (`jvb`) sources are skipped.
 * Returns new counters; `counters` is not mutated.
 * @param {SourceCounters} counters
 * @param {Array<{media: 'audio'|'video', sources: any[], ssrcGroups: any[]}>} contents
 */
export function registerSignalledSources(counters, contents) {
  const state = structuredClone(counters);

  for (const [source, e] of jingleSourceMap(contents)) {
    if (!e.owner || e.owner === 'jvb') continue;
    const [ssrc, rtx] = e.ssrcList;

    state.ssrcs[String(ssrc)] = {
      mediaType: e.mediaType,
      mid: '',
      owner: e.owner,
      source,
      msid: e.msid,
      ...(rtx !== undefined ? { rtx } : {}),
      ...(e.videoType ? { videoType: e.videoType } : {}),
    };
    state.sources[source] = ssrc;
  }

  return state;
}

/**
 * LJM `SDP.updateRemoteSources` for a non-P2P session: on add, a new `sendonly` m-line per source (mid = the number of
 * m-lines, cloned from the first m-line of its media type, BUNDLE extended) with `a=ssrc:<ssrc> msid:<msid>` per SSRC
 * and its groups; on remove, the m-line that carries the source's first SSRC loses its SSRC and group lines and is
 * rejected (`a=inactive`, port 0), so the browser never reuses its transceiver.
 * @param {string} currentRemoteSdp `pc.remoteDescription.sdp`
 * @param {Array<{media: 'audio'|'video', sources: any[], ssrcGroups: any[]}>} contents of the source-add / source-remove
 * @param {boolean} isAdd
 * @returns {{sdp: string, changed: boolean}}
 */
export function updateRemoteSources(currentRemoteSdp, contents, isAdd) {
  const session = legacyParse(currentRemoteSdp);
  let changed = false;

  for (const e of jingleSourceMap(contents).values()) {
    if (isAdd) {
      const mid = String(session.media.length);

      addMLineForSource(session, e.mediaType, mid, e.ssrcList.slice(0, 2), e.msid);
      const mLine = session.media[session.media.length - 1];

      mLine.ssrcGroups = e.groups.length ? e.groups.map((g) => ({ semantics: g.semantics, ssrcs: g.ssrcs.join(' ') })) : undefined;
      changed = true;
      continue;
    }
    const mLine = session.media.find((m) => m.ssrcs?.some((s) => Number(s.id) === e.ssrcList[0]));

    if (!mLine) continue;
    mLine.ssrcs = mLine.ssrcs.filter((s) => !e.ssrcList.includes(Number(s.id)));
    mLine.ssrcGroups = (mLine.ssrcGroups ?? []).filter((g) => !e.groups.some((x) => x.semantics === g.semantics));
    if (!mLine.ssrcs.length) delete mLine.ssrcs;
    if (!mLine.ssrcGroups.length) delete mLine.ssrcGroups;
    mLine.direction = 'inactive';
    mLine.port = 0;
    changed = true;
  }
  if (!changed) return { sdp: currentRemoteSdp, changed };

  return { sdp: sdpTransform.write(ensureCorrectOrderOfSsrcs(session)), changed };
}

/**
 * The media sections of an SDP by mid: what `ontrack` needs to go from `transceiver.mid` to the SSRC (and from there
 * to owner/source via {@link SourceCounters}), as LJM `_remoteTrackAdded` does.
 * @param {string} sdp
 * @returns {Map<string, {type: string, direction: string|undefined, ssrcs: number[], msid: string|undefined}>}
 */
export function mediaByMid(sdp) {
  const result = new Map();

  for (const lines of splitSections(sdp).slice(1)) {
    const mid = findLine(lines, 'a=mid:')?.slice(6);

    if (mid === undefined) continue;
    const ssrcLines = lines.filter((l) => l.startsWith('a=ssrc:'));
    const msidLine = ssrcLines.find((l) => l.includes(' msid:')) ?? findLine(lines, 'a=msid:');

    result.set(mid, {
      type: lines[0].slice(2).split(' ')[0],
      direction: directionOf(lines),
      ssrcs: [...new Set(ssrcLines.map((l) => Number(l.slice(7).split(' ')[0])))],
      msid: msidLine?.slice(msidLine.indexOf('msid:') + 5),
    });
  }

  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Local answer → Jingle session-accept (LJM LocalSdpMunger + SDP.toJingle)
// ---------------------------------------------------------------------------------------------------------------

/** LJM `SDPUtil.candidateToJingle`, typed as protocol.ts `IceCandidate`. @returns {IceCandidate|null} */
export function candidateToJingle(line) {
  const elems = line.replace(/^a=/, '').split(' ');

  if (!elems[0].startsWith('candidate:') || elems[6] !== 'typ') return null;
  const candidate = {
    component: Number(elems[1]),
    foundation: elems[0].slice(10),
    generation: 0,
    id: Math.random().toString(36).slice(2, 12),
    network: 1,
    priority: Number(elems[3]),
    protocol: elems[2].toLowerCase(),
    type: elems[7],
    ip: elems[4],
    port: Number(elems[5]),
  };

  for (let i = 8; i < elems.length; i += 2) {
    const value = elems[i + 1];

    if (elems[i] === 'raddr') candidate.relAddr = value;
    else if (elems[i] === 'rport') candidate.relPort = Number(value);
    else if (elems[i] === 'generation') candidate.generation = Number(value);
    else if (elems[i] === 'tcptype') candidate.tcptype = value;
  }

  return /** @type {IceCandidate} */ (candidate);
}

/** LJM `SDPUtil.parseFmtp`: `[{name, value}]`; a part without `=` is a name-less value (no `name` key). */
function parseFmtp(line) {
  return line
    .split(' ')
    .slice(1)
    .join(' ')
    .split(';')
    .flatMap((part) => {
      const [key, value] = [part.split('=')[0].replace(/^ +/, ''), part.split('=')[1]];

      if (key && value) return [{ name: key, value }];

      return key ? [{ value: key }] : [];
    });
}

/** One `<payload-type>` from the rtpmap/fmtp/rtcp-fb lines of `pt` (LJM `toJingle`). */
function payloadTypeToJingle(lines, pt) {
  const rtpmap = findLine(lines, `a=rtpmap:${pt} `);

  if (!rtpmap) return null;
  const [name, clockrate, channels] = rtpmap.split(' ')[1].split('/');
  const fmtp = findLine(lines, `a=fmtp:${pt} `);
  const rtcpFbs = lines
    .filter((l) => l.startsWith(`a=rtcp-fb:${pt} `))
    .flatMap((l) => {
      const [type, subtype] = l.split(' ').slice(1);

      if (type === 'trr-int') return [];

      return [subtype ? { type, subtype } : { type }];
    });

  return {
    id: Number(pt),
    name,
    clockrate: Number(clockrate),
    channels: Number(channels || 1),
    parameters: fmtp ? parseFmtp(fmtp) : [],
    rtcpFbs,
  };
}

/** `a=ssrc-group` lines → `[{semantics, ssrcs}]`. */
function ssrcGroupsOf(lines) {
  return lines
    .filter((l) => l.startsWith('a=ssrc-group:'))
    .map((l) => {
      const [semantics, ...ssrcs] = l.slice(13).split(' ');

      return { semantics, ssrcs: ssrcs.filter(Boolean).map(Number) };
    });
}

/**
 * LJM `LocalSdpMunger._transformMediaIdentifiers` + `SDPUtil.parseSSRC` / `parseMSIDAttribute`: the local sources
 * of one sending m-line, named `<ep>-a<idx>` / `<ep>-v<idx>`, with msid `<ep>-<type>-<idx>-<tpcId> <trackId>-<tpcId>`
 * and (video) the videoType.
 */
function localSourcesOf(lines, { type, idx, endpointId, tpcId, videoType }) {
  const ssrcLines = lines.filter((l) => l.startsWith('a=ssrc:'));
  const ssrcs = [...new Set(ssrcLines.map((l) => l.slice(7).split(' ')[0]))];
  const mediaMsidTrack = findLine(lines, 'a=msid:')?.split(' ')[1];
  const name = `${endpointId}-${type[0]}${idx}`;

  return ssrcs.map((ssrc) => {
    const msidLine = ssrcLines.find((l) => l.startsWith(`a=ssrc:${ssrc} msid:`));
    const trackId = msidLine?.split(' ')[2] ?? mediaMsidTrack ?? name;
    const source = {
      ssrc: Number(ssrc),
      name,
      msid: filterSpecialChars(`${endpointId}-${type}-${idx}-${tpcId} ${trackId}-${tpcId}`),
    };

    return type === 'video' ? { ...source, videoType } : source;
  });
}

/** LJM `SDP.transportToJingle`. */
function transportToJingle(lines, sessionLines) {
  const iceUfrag = findLine(lines, 'a=ice-ufrag:', sessionLines);
  const icePwd = findLine(lines, 'a=ice-pwd:', sessionLines);
  const setup = findLine(lines, 'a=setup:', sessionLines)?.slice(8);
  const sctpPort = findLine(lines, 'a=sctp-port:', sessionLines);
  const sctpmap = findLine(lines, 'a=sctpmap:', sessionLines);
  const transport = {
    ufrag: iceUfrag?.slice(12) ?? '',
    pwd: icePwd?.slice(10) ?? '',
    fingerprints: findLines(lines, 'a=fingerprint:', sessionLines).map((l) => {
      const [hash, value] = l.slice(14).split(' ');

      return setup ? { hash, value, setup } : { hash, value };
    }),
    candidates: iceUfrag && icePwd ? findLines(lines, 'a=candidate:', sessionLines).map(candidateToJingle).filter(Boolean) : [],
  };

  if (sctpPort) transport.sctpmap = { number: Number(sctpPort.slice(12)), protocol: 'webrtc-datachannel', streams: 0 };
  else if (sctpmap) {
    const [number, protocol, streams] = sctpmap.slice(10).split(' ');

    transport.sctpmap = { number: Number(number), protocol, streams: Number(streams ?? 0) };
  }

  return transport;
}

/** `<description>` of an audio/video content from its first m-line (LJM `toJingle`). */
function descriptionToJingle(lines, sessionLines, media) {
  const fmt = lines[0].split(' ').slice(3).filter(Boolean);
  const description = {
    media,
    payloadTypes: fmt.map((pt) => payloadTypeToJingle(lines, pt)).filter(Boolean),
    rtpHdrExts: findLines(lines, 'a=extmap:', sessionLines).map((l) => {
      const [idDir, uri] = l.slice(9).split(' ');

      return { id: Number(idDir.split('/')[0]), uri };
    }),
    sources: [],
    ssrcGroups: [],
  };

  if (findLine(lines, 'a=rtcp-mux')) description.rtcpMux = true;
  if (findLine(lines, 'a=extmap-allow-mixed', sessionLines)) description.extmapAllowMixed = true;

  return description;
}

/** `senders` from the direction line, `rejected` for port 0 without `a=bundle-only` (LJM `toJingle`). */
function sendersOf(lines, direction) {
  if (lines[0].split(' ')[1] === '0' && !findLine(lines, 'a=bundle-only')) return 'rejected';

  return SENDERS_OF_DIRECTION[direction] ?? 'both';
}

/** The direction (`sendrecv` ...) of a media section, if it has one. */
function directionOf(lines) {
  return lines.map((l) => l.slice(2)).find((a) => a in SENDERS_OF_DIRECTION);
}

/**
 * Converts the local answer to the `session-accept` Jingle, as LJM does on Chromium (`LocalSdpMunger
 * .transformStreamIdentifiers` then `SDP.toJingle(…, 'responder')`):
 *  - contents `audio`, `video`, `data` (creator `responder`), one per media type, from its first m-line: payload
 *    types, `rtcp-mux`, header extensions, `extmap-allow-mixed`, `senders` from the direction;
 *  - transport: ufrag/pwd, fingerprint with `setup` from the answer (normally `active`), the candidates gathered so
 *    far, and for data the `sctpmap` (number = `a=sctp-port`, streams 0);
 *  - sources only of the local sending (`sendrecv` / `sendonly`) m-lines, merged into the content of their type:
 *    names `<endpointId>-a0` / `<endpointId>-v0`, `msid` `<ep>-audio-0-<tpcId> <trackId>-<tpcId>`, videoType on
 *    video, and the m-line's ssrc-groups (FID, SIM);
 *  - a BUNDLE group of `audio video data` for every `a=group` of the answer.
 *
 * @param {string} localAnswerSdp `pc.localDescription.sdp`
 * @param {{endpointId: string, tpcId?: number, videoType?: string}} options `tpcId`: LJM's TraceablePeerConnection
 *   id (1 for the JVB connection); `videoType`: of the local video source (`camera`)
 * @returns {JingleSession}
 */
export function answerToJingle(localAnswerSdp, { endpointId, tpcId = 1, videoType = 'camera' }) {
  const [sessionLines, ...media] = splitSections(localAnswerSdp);
  const contents = [];
  const localIndex = { audio: 0, video: 0 };

  for (const lines of media) {
    const mediaType = lines[0].slice(2).split(' ')[0];
    const name = mediaType === 'application' ? 'data' : mediaType;
    const direction = directionOf(lines);
    let content = contents.find((c) => c.name === name);

    if (!content) {
      content = {
        name,
        creator: 'responder',
        senders: sendersOf(lines, direction),
        description:
          name === 'data'
            ? { media: 'application', payloadTypes: [], rtpHdrExts: [], sources: [], ssrcGroups: [] }
            : descriptionToJingle(lines, sessionLines, mediaType),
        transport: transportToJingle(lines, sessionLines),
      };
      contents.push(content);
    }
    const sending = direction === 'sendrecv' || direction === 'sendonly';

    if (name !== 'data' && sending && lines.some((l) => l.startsWith('a=ssrc:'))) {
      const idx = localIndex[mediaType]++;

      content.description.sources.push(...localSourcesOf(lines, { type: mediaType, idx, endpointId, tpcId, videoType }));
      content.description.ssrcGroups.push(...ssrcGroupsOf(lines));
    }
  }

  const groups = sessionLines
    .filter((l) => l.startsWith('a=group:'))
    .map((l) => ({ semantics: l.slice(8).split(' ')[0], contents: ['audio', 'video', 'data'] }));

  return /** @type {JingleSession} */ ({ contents, groups });
}
