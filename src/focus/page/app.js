// @ts-check
/**
 * octobridge standalone room page: joins `/<room>` through the embedded focus (WebSocket `/focus/<room>`,
 * protocol in ../protocol.ts), answers the bridge's offer the way lib-jitsi-meet does (sdp.js), runs the bridge
 * channel (SCTP data channel, or colibri-ws with `?channel=ws`) and shows the remote video sources as tiles.
 *
 * Video quality follows lib-jitsi-meet: Chromium sends 3-layer simulcast (SDP munging, scale 4/2/1) and switches
 * layers on and off as the bridge's `SenderSourceConstraints` ask; the receiver asks for 180p thumbnails
 * (`defaultConstraints`) and 720p for the on-stage source, which is the clicked tile.
 *
 * Query parameters: `name` (display name), `channel=ws`, `audio=0`, `video=0`, `width`, `height`, `fps`,
 * `simulcast=0` (one stream), `svc=0` (VP9 and AV1 as simulcast too), `lastN` (the receiver's last-N; -1 = all, the default), `region` (cascade: join
 * through the bridge of that region), `codecs` (the video codec preference order, LJM config.js
 * `videoQuality.codecPreferenceOrder`, e.g. `VP8,H264`; LJM's desktop order AV1, VP9, VP8, H.264 without it), `codec`
 * (one codec, forced: the order is that codec alone).
 *
 * The codec sent is chosen as LJM's `CodecSelection` does (codecSelection.js): the first of the local order that
 * every other participant announces (`codecList` on join, as presence carries it) and the bridge offers; chosen again
 * when someone joins or leaves, and switched mid-call then (setCodec). The chosen codec goes first in the offer the
 * page applies and in its answer; VP9 and AV1 are sent as one `L3T3_KEY` SVC stream (svc.js), VP8 and H.264 as
 * simulcast. The test hook's `setCodec(name)` switches codec by hand.
 * Plain ES module, no build step; Chromium and Firefox ESR (Firefox sends one stream: LJM uses RIDs there).
 */
import {
  addSourcesToRemoteSdp,
  answerToJingle,
  createSimulcastCache,
  createSourceCounters,
  jingleSourceMap,
  jingleToSdp,
  mediaByMid,
  registerSignalledSources,
  updateRemoteSources,
  mungeSimulcast,
  simulcastActiveState,
} from './sdp.js';
import { browserOf, codecPreferenceOrder, parseCodecList, selectVideoCodec } from './codecSelection.js';
import { codecParam, isSvcCodec, offeredVideoCodecs, preferVideoCodec, simulcastBitrates, svcEncodings } from './svc.js';

const COLIBRI_PROTOCOL = 'http://jitsi.org/protocols/colibri';
const MAX_RETRY_DELAY_S = 60;
/** LJM ReceiveVideoController: thumbnails ask for 180p, the on-stage (large) video for 720p. */
const THUMBNAIL_HEIGHT = 180;
const STAGE_HEIGHT = 720;
/** LJM StandardVideoQualitySettings VP8 `maxBitratesVideo` low / standard / high, in bps; scale factors 4 / 2 / 1. */
const SIM_MAX_BITRATES_BPS = [200_000, 500_000, 1_500_000];
const SIM_SCALE_FACTORS = [4, 2, 1];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const log = (...args) => console.log('[octobridge]', ...args);
const warn = (...args) => console.warn('[octobridge]', ...args);

// ---------------------------------------------------------------------------------------------------------------
// Configuration and state
// ---------------------------------------------------------------------------------------------------------------

/** @param {string|null} value @returns {number} an integer ≥ -1, -1 when absent or invalid (last-N) */
function lastNParam(value) {
  const n = Number.parseInt(value ?? '', 10);

  return Number.isFinite(n) && n >= -1 ? n : -1;
}

/** @param {URLSearchParams} params @param {string} name @param {number} fallback @returns {number} */
function intParam(params, name, fallback) {
  const value = Number.parseInt(params.get(name) ?? '', 10);

  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function randomGuestName() {
  const bytes = crypto.getRandomValues(new Uint8Array(2));

  return `Guest-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function readConfig() {
  const params = new URLSearchParams(location.search);

  return {
    room: decodeURIComponent(location.pathname.replace(/^\/+|\/+$/g, '')),
    displayName: params.get('name') || randomGuestName(),
    channel: /** @type {'sctp'|'ws'} */ (params.get('channel') === 'ws' ? 'ws' : 'sctp'),
    sendAudio: params.get('audio') !== '0',
    sendVideo: params.get('video') !== '0',
    width: intParam(params, 'width', 1280),
    height: intParam(params, 'height', 720),
    fps: intParam(params, 'fps', 30),
    simulcast: params.get('simulcast') !== '0' && !/\bFirefox\//.test(navigator.userAgent),
    lastN: lastNParam(params.get('lastN')),
    /** Cascade: the bridge region to join through (the focus places the participant there). */
    region: params.get('region') ?? undefined,
    /**
     * VP9 and AV1 as one K-SVC stream (LJM's default); `svc=0` sends them as 3-layer simulcast like VP8, as LJM does
     * with config.js `videoQuality.<codec>.useSimulcast: true` (and Firefox and Safari send them).
     */
    svc: params.get('svc') !== '0',
    /**
     * `ssrcRewriting=0`: LJM with `flags.ssrcRewritingEnabled = false`. The focus then signals the others' sources
     * over Jingle (`source-add` / `source-remove`, their own SSRCs) and the bridge sends no source maps.
     */
    ssrcRewriting: params.get('ssrcRewriting') !== '0',
    /** The local video codec preference order, lower case: what the page announces as its `codecList`. */
    codecList: localCodecOrder(params),
    /** The video codec sent (upper case), chosen by {@link chooseVideoCodec}; the first of `codecList` until then. */
    codec: '',
  };
}

/**
 * The local codec preference order: `?codec=` alone, `?codecs=`, or LJM's desktop default, as LJM's `CodecSelection`
 * constructor narrows it for this browser.
 * @param {URLSearchParams} params
 */
function localCodecOrder(params) {
  const forced = codecParam(params.get('codec'));
  const configured = forced ? [forced.toLowerCase()] : parseCodecList(params.get('codecs'));
  const decodable = (globalThis.RTCRtpReceiver?.getCapabilities?.('video')?.codecs ?? []).map((c) => c.mimeType);

  return codecPreferenceOrder({ configured, decodable, browser: browserOf(navigator.userAgent) });
}

const config = readConfig();

config.codec = config.codecList[0].toUpperCase();

const state = {
  /** @type {string|null} */ endpointId: null,
  /** @type {Map<string, {id: string, displayName: string, codecList?: string[]}>} */ participants: new Map(),
  /** @type {WebSocket|null} */ focus: null,
  /** @type {RTCPeerConnection|null} */ pc: null,
  /** @type {string|null} */ offerSdp: null,
  /** @type {Record<string, number>|null} see window.octobridge.iceTiming */ iceTiming: null,
  /** @type {MediaStream} */ localStream: new MediaStream(),
  counters: createSourceCounters(),
  simulcastCache: createSimulcastCache(),
  /** maxHeight the bridge last asked for our video source (`SenderSourceConstraints`); -1 before any. */
  senderMaxHeight: -1,
  /** The source name shown on stage (clicked tile), or null. */
  onStage: null,
  sourceMaps: { audio: [], video: [] },
  /** @type {object[]} */ received: [],
  /** @type {RTCDataChannel|WebSocket|null} */ channel: null,
  channelOpen: false,
  /** @type {'sctp'|'ws'} */ channelKind: config.channel,
  wsRetry: { attempt: 0, timer: 0, closing: false },
  /** The video type announced for the local video source (`SourceVideoTypeMessage`, LJM lower case). */
  videoType: 'camera',
  /** The codec changes chosen (`{t, from, to}`, t in ms since the epoch), for tests. */
  /** @type {{t: number, from: string, to: string}[]} */
  codecSwitches: [],
  /** Session restarts asked for after ICE failures (LJM JitsiConference `_iceRestarts`). */
  iceRestarts: 0,
  /** Remote media by mid: `{kind, ssrc, track, el}`. */
  slots: new Map(),
  queue: Promise.resolve(),
  dominantSpeaker: null,
  /** @type {string[]|null} */ forwardedSources: null,
  endpointStats: {},
  senderConstraints: {},
  connectionStats: null,
  audioBlocked: false,
  /** @type {{context: AudioContext, oscillator: OscillatorNode, amplifier: GainNode, track: MediaStreamTrack}|null} */
  tone: null,
  micMuted: false,
  camMuted: false,
  left: false,
};

// ---------------------------------------------------------------------------------------------------------------
// Local media
// ---------------------------------------------------------------------------------------------------------------

function mediaConstraints(audio, video) {
  return {
    audio,
    video: video && {
      width: { ideal: config.width },
      height: { ideal: config.height },
      frameRate: { ideal: config.fps },
    },
  };
}

/** getUserMedia for what the URL asks; on failure each kind alone; never throws. */
async function getLocalStream() {
  const { sendAudio, sendVideo } = config;

  if (!sendAudio && !sendVideo) return new MediaStream();
  try {
    return await navigator.mediaDevices.getUserMedia(mediaConstraints(sendAudio, sendVideo));
  } catch (err) {
    warn('getUserMedia failed, trying each kind alone', err);
  }
  const stream = new MediaStream();

  for (const [audio, video] of [
    [sendAudio, false],
    [false, sendVideo],
  ]) {
    if (!audio && !video) continue;
    try {
      for (const t of (await navigator.mediaDevices.getUserMedia(mediaConstraints(audio, video))).getTracks()) stream.addTrack(t);
    } catch (err) {
      warn(`no ${audio ? 'microphone' : 'camera'}`, err);
    }
  }

  return stream;
}

const localTrack = (kind) => state.localStream.getTracks().find((t) => t.kind === kind) ?? null;

// ---------------------------------------------------------------------------------------------------------------
// Focus signalling
// ---------------------------------------------------------------------------------------------------------------

function focusUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';

  return `${scheme}://${location.host}/focus/${encodeURIComponent(config.room)}`;
}

function sendFocus(message) {
  if (state.focus?.readyState === WebSocket.OPEN) state.focus.send(JSON.stringify(message));
}

function connectFocus() {
  const ws = new WebSocket(focusUrl());

  state.focus = ws;
  ws.onopen = () =>
    sendFocus({
      type: 'join',
      displayName: config.displayName,
      codecList: config.codecList,
      ...(config.region ? { region: config.region } : {}),
      ...(config.ssrcRewriting ? {} : { ssrcRewriting: false }),
    });
  ws.onmessage = (event) => {
    try {
      onFocusMessage(JSON.parse(event.data));
    } catch (err) {
      warn('bad focus message', err, event.data);
    }
  };
  ws.onclose = (event) => {
    if (state.left) return;
    log('focus closed', event.code, event.reason);
    closeSession();
    showNotice(`Disconnected from the room (${event.code}${event.reason ? `: ${event.reason}` : ''}).`);
  };
}

function onFocusMessage(msg) {
  switch (msg.type) {
    case 'room':
      state.endpointId = msg.endpointId;
      state.participants = new Map(msg.participants.map((p) => [p.id, p]));
      log('joined', msg.room, 'as', msg.endpointId);
      chooseVideoCodec();
      renderHeader();
      renderLocalTile();
      break;
    case 'session-initiate':
      startSession(msg.jingle);
      break;
    case 'source-add':
    case 'source-remove':
      onRemoteSources(msg.contents, msg.type === 'source-add');
      break;
    case 'participant-joined':
      state.participants.set(msg.participant.id, msg.participant);
      renderAll();
      chooseVideoCodec();
      break;
    case 'participant-left':
      onParticipantLeft(msg.id);
      break;
    case 'session-terminate':
      closeSession();
      showNotice(`The session ended: ${msg.reason}`);
      break;
    case 'error':
      showNotice(`Error: ${msg.message}`);
      break;
    default:
      log('unknown focus message', msg);
  }
}

/** LJM with SSRC rewriting: the participant's tracks lose their owner; the slots stay for re-use. */
function onParticipantLeft(id) {
  state.participants.delete(id);
  state.counters = structuredClone(state.counters);
  for (const info of Object.values(state.counters.ssrcs)) {
    if (info.owner === id) Object.assign(info, { owner: null, source: null });
  }
  renderAll();
  chooseVideoCodec();
}

/**
 * LJM `CodecSelection.selectPreferredCodec`, run on joining and whenever a participant joins or leaves: the first
 * codec of the local order that every other participant announces and the bridge offers. A change mid-call is a
 * local renegotiation ({@link setCodec}); before the session it only sets what the first answer will prefer. When no
 * codec is common, the current one stays (LJM logs and keeps it).
 */
function chooseVideoCodec() {
  const remote = [...state.participants.values()].map((p) => p.codecList ?? []);
  const offered = state.offerSdp ? offeredVideoCodecs(state.offerSdp) : undefined;
  const chosen = selectVideoCodec(config.codecList, remote, offered)?.toUpperCase();

  if (!chosen) {
    log('no video codec common to every participant: keeping', config.codec);

    return;
  }
  if (chosen === config.codec) return;
  log('video codec', config.codec, '→', chosen);
  state.codecSwitches.push({ t: Date.now(), from: config.codec, to: chosen });
  if (state.pc?.remoteDescription) setCodec(chosen).catch((err) => warn('video codec switch failed', err));
  else config.codec = chosen;
}

// ---------------------------------------------------------------------------------------------------------------
// Jingle session with the bridge
// ---------------------------------------------------------------------------------------------------------------

/** Serialises offer/answer work (LJM JingleSessionPC.modificationQueue). */
function enqueue(task) {
  state.queue = state.queue.then(task).catch((err) => warn('negotiation failed', err));

  return state.queue;
}

/**
 * {@link enqueue} for a caller that needs the task's outcome: the returned promise settles as the task does.
 * @param {() => Promise<void>} task
 * @returns {Promise<void>}
 */
function queued(task) {
  return new Promise((resolve, reject) => {
    enqueue(() => task().then(resolve, reject));
  });
}

function createPeerConnection() {
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });

  pc.ontrack = (event) => syncSlot(event.transceiver);
  // LJM JingleSessionPC: CONNECTION_ICE_FAILED on ICE state `failed`, or on connection state `failed` with ICE
  // `disconnected` (Chrome >= 76 may not report ICE `failed`).
  pc.onconnectionstatechange = () => {
    renderHeader();
    if (pc.connectionState === 'failed' && pc.iceConnectionState === 'disconnected') onIceFailed(pc);
  };
  pc.oniceconnectionstatechange = () => {
    // The first time of each ICE state of the session's connection (window.octobridge.iceTiming).
    if (pc === state.pc && state.iceTiming && !(pc.iceConnectionState in state.iceTiming)) {
      state.iceTiming[pc.iceConnectionState] = performance.now();
    }
    renderHeader();
    if (pc.iceConnectionState === 'failed') onIceFailed(pc);
  };

  return pc;
}

/** LJM service/connectivity/Constants MAX_CONNECTION_RETRIES. */
const MAX_ICE_RESTARTS = 3;

/**
 * The JVB session's ICE failed: what lib-jitsi-meet does (JitsiConference `_onIceConnectionFailed`, then
 * modules/connectivity/IceFailedHandling): wait a backoff (`getJitterDelay(attempt, 1000)`: 1 s on the first
 * attempt, up to 2^attempt s later), then 2 s more, and if ICE is still not `connected` stop the session (remote
 * tracks go) and send session-terminate with a restart request; Jicofo re-invites with a new session-initiate.
 * After MAX_ICE_RESTARTS the conference fails.
 */
function onIceFailed(pc) {
  if (pc !== state.pc || pc.iceFailedHandled) return;
  pc.iceFailedHandled = true;
  if (state.iceRestarts >= MAX_ICE_RESTARTS) {
    showNotice('The connection to the bridge failed (ICE).');
    return;
  }
  const backoff = Math.floor(Math.random() * (2 ** state.iceRestarts * 1000 - 1000) + 1000);

  log('ICE failed: session restart in', backoff + 2000, 'ms unless ICE recovers');
  setTimeout(() => {
    state.iceRestarts += 1;
    setTimeout(() => {
      if (pc !== state.pc || pc.iceConnectionState === 'connected') return;
      log('ICE did not recover: session-terminate with a restart request');
      closeSession();
      sendFocus({ type: 'session-terminate', reason: 'connectivity-error', restart: true });
    }, 2000);
  }, backoff);
}

function startSession(jingle) {
  if (state.pc) closeSession();
  state.wsRetry = { attempt: 0, timer: 0, closing: false };
  state.counters = createSourceCounters();
  // Without SSRC rewriting, the offer carries the others' sources with their owners (Jicofo's offer).
  if (!config.ssrcRewriting) {
    state.counters = registerSignalledSources(
      state.counters,
      jingle.contents.map((c) => c.description),
    );
  }
  state.simulcastCache = createSimulcastCache();
  state.pc = createPeerConnection();
  const webSocketUrl = jingle.contents.flatMap((c) => c.transport?.webSockets ?? [])[0];
  const sctpOffered = jingle.contents.filter((c) => c.name === 'data').length === 1;
  const useSctp = sctpOffered && (config.channel === 'sctp' || !webSocketUrl);

  // LJM JitsiConference._setBridgeChannel: the data channel exists before the first setRemoteDescription.
  if (useSctp) openDataChannel(state.pc);
  state.offerSdp = jingleToSdp(jingle, { sessionId: Date.now() });
  const offer = state.offerSdp;

  chooseVideoCodec();

  enqueue(async () => {
    const pc = /** @type {RTCPeerConnection} */ (state.pc);

    state.iceTiming = { remoteOffer: performance.now() };
    await setRemoteOffer(pc, offer);
    await attachLocalTracks(pc);
    await answer(pc);
    sendFocus({ type: 'session-accept', jingle: answerToJingle(localSdp(pc), { endpointId: /** @type {string} */ (state.endpointId) }) });
  });
  if (!useSctp && webSocketUrl) connectBridgeWebSocket(webSocketUrl);
  else if (!useSctp) warn('the offer has neither SCTP nor a colibri-ws URL: no bridge channel');
  renderHeader();
}

/**
 * The transceiver of the first offered m-line of `kind` (LJM's `sendrecv` one: mid 0 audio and mid 1 video with SSRC
 * rewriting; further down when the offer carries others' sources), which the local track uses.
 * @param {RTCPeerConnection|null} pc
 * @param {'audio'|'video'} kind
 */
function localTransceiver(pc, kind) {
  return pc?.getTransceivers().find((t) => t.mid !== null && t.receiver.track.kind === kind) ?? null;
}

/** Local tracks go on the first offered m-line of their kind, as LJM's responder `addTrack` reuses it. */
async function attachLocalTracks(pc) {
  for (const kind of /** @type {const} */ (['audio', 'video'])) {
    const transceiver = localTransceiver(pc, kind);
    const track = localTrack(kind);

    if (!transceiver) continue;
    if (!track) {
      transceiver.direction = 'recvonly';
      continue;
    }
    await transceiver.sender.replaceTrack(track);
    transceiver.direction = 'sendrecv';
    transceiver.sender.setStreams?.(state.localStream);
  }
}

/**
 * Applies the bridge's offer with the preferred video codec first, as LJM `TraceablePeerConnection.setRemoteDescription`
 * does (`_mungeDescription` → `TPCUtils.mungeCodecOrder`): the answerer's browser sends with the first codec of the
 * offer it also has, so the answer's order alone does not choose what is sent.
 * @param {RTCPeerConnection} pc
 * @param {string} sdp
 */
function setRemoteOffer(pc, sdp) {
  return pc.setRemoteDescription({ type: 'offer', sdp: config.codec ? preferVideoCodec(sdp, config.codec) : sdp });
}

async function answer(pc) {
  const description = await pc.createAnswer();
  const ordered = config.codec ? preferVideoCodec(description.sdp, config.codec) : description.sdp;
  const sdp = config.simulcast ? mungeSimulcast(ordered, state.simulcastCache) : ordered;

  await pc.setLocalDescription({ type: 'answer', sdp });
  pc.getTransceivers().forEach(syncSlot);
  await configureVideoSender();
}

/**
 * The SDP of the answer {@link answer} set.
 * @param {RTCPeerConnection} pc
 * @returns {string}
 */
function localSdp(pc) {
  return /** @type {RTCSessionDescription} */ (pc.localDescription).sdp;
}

/** The sender of the local camera, when it sends. */
function videoSender() {
  const transceiver = localTransceiver(state.pc, 'video');

  return transceiver && transceiver.direction === 'sendrecv' ? transceiver.sender : null;
}

/**
 * LJM `TraceablePeerConnection._configureSenderEncodings` / `_updateVideoSenderParameters` for a camera: the
 * simulcast encodings get LJM's scale factors and VP8 bitrates, and are active as the bridge's last
 * `SenderSourceConstraints` allow (`calculateEncodingsActiveState`); degradation preference `maintain-framerate`
 * (LJM for camera). Single-stream senders only get `active` (false when the bridge wants nothing).
 */
async function configureVideoSender() {
  const sender = videoSender();

  if (!sender) return;
  const parameters = sender.getParameters();
  // `scalabilityMode` (WebRTC-SVC) is not in TypeScript's DOM types yet.
  const encodings = /** @type {(RTCRtpEncodingParameters & {scalabilityMode?: string})[]} */ (parameters.encodings ?? []);

  if (!encodings.length) return;
  const captureHeight = localTrack('video')?.getSettings().height ?? config.height;

  if (isSvcCodec(config.codec) && config.svc) {
    // LJM full-SVC mode (VP9, AV1): one K-SVC encoding sized to what the bridge asks for, the others off.
    const svc = svcEncodings(config.codec, captureHeight, state.senderMaxHeight);

    encodings.forEach((encoding, i) => {
      Object.assign(encoding, svc[i] ?? { active: false });
    });
  } else if (encodings.length === SIM_SCALE_FACTORS.length) {
    const active = simulcastActiveState(captureHeight, state.senderMaxHeight);
    // VP9 / AV1 simulcast (`svc=0`): one spatial layer per encoding, at LJM's low / standard / high bitrates.
    const svcCodecSimulcast = isSvcCodec(config.codec);
    const bitrates = svcCodecSimulcast ? simulcastBitrates(/** @type {'AV1'|'VP9'} */ (config.codec)) : SIM_MAX_BITRATES_BPS;

    encodings.forEach((encoding, i) => {
      // Back from a K-SVC codec (setCodec): VP8/H264 simulcast layers are L1T3. VP9 and AV1 need it said, or Chromium
      // keeps them one SVC stream.
      if (svcCodecSimulcast || (encoding.scalabilityMode && encoding.scalabilityMode !== 'L1T3')) encoding.scalabilityMode = 'L1T3';
      encoding.active = active[i];
      encoding.scaleResolutionDownBy = SIM_SCALE_FACTORS[i];
      encoding.maxBitrate = bitrates[i];
    });
  } else {
    encodings[0].active = state.senderMaxHeight !== 0;
  }
  parameters.degradationPreference = 'maintain-framerate';
  try {
    await sender.setParameters(parameters);
  } catch (err) {
    warn('setParameters failed', err);
  }
}

/**
 * Send another video codec mid-call, as LJM does when `CodecSelection` picks a new one (participants joined or left):
 * `JingleSessionPC.setVideoCodecs` → `TraceablePeerConnection.setVideoCodecs` (the codec goes first in the local
 * answer, `TPCUtils.mungeCodecOrder`: LJM munges the SDP this way for H.264, and in every case without the codec
 * selection API) → a local renegotiation on the same remote offer (`JingleSessionPC._renegotiate`), then the sender's
 * encodings for the new codec (`configureVideoSenderEncodings`). Nothing is signalled: the bridge follows the payload
 * type it receives.
 * @param {string} codec `VP8`, `VP9`, `AV1` or `H264`
 * @returns {Promise<void>} when the new answer is applied
 */
function setCodec(codec) {
  const wanted = codecParam(codec);

  if (!wanted) return Promise.reject(new Error(`unknown codec ${codec}`));

  return queued(async () => {
    const pc = state.pc;

    config.codec = wanted;
    if (pc?.remoteDescription) {
      await setRemoteOffer(pc, pc.remoteDescription.sdp);
      await answer(pc);
    }
  });
}

function closeSession() {
  state.wsRetry.closing = true;
  clearTimeout(state.wsRetry.timer);
  state.channel?.close();
  state.channel = null;
  state.channelOpen = false;
  state.pc?.close();
  state.pc = null;
  for (const slot of state.slots.values()) slot.el.remove();
  state.slots.clear();
  renderAll();
}

// ---------------------------------------------------------------------------------------------------------------
// Bridge channel (LJM modules/RTC/BridgeChannel.ts)
// ---------------------------------------------------------------------------------------------------------------

function openDataChannel(pc) {
  const dc = pc.createDataChannel('JVB data channel', { protocol: COLIBRI_PROTOCOL });

  state.channel = dc;
  state.channelKind = 'sctp';
  dc.onopen = () => onChannelOpen();
  dc.onmessage = (event) => onBridgeData(event.data);
  dc.onclose = () => {
    if (state.channel === dc) state.channelOpen = false;
    renderHeader();
  };
}

function connectBridgeWebSocket(url) {
  const ws = new WebSocket(url);
  const retry = state.wsRetry;

  state.channel = ws;
  state.channelKind = 'ws';
  ws.onopen = () => {
    retry.attempt = 0;
    onChannelOpen();
  };
  ws.onmessage = (event) => onBridgeData(event.data);
  ws.onclose = (event) => {
    if (state.channel !== ws) return;
    state.channelOpen = false;
    renderHeader();
    if (retry.closing || event.code === 1000 || event.code === 1001) {
      log('bridge websocket closed', event.code, event.reason);

      return;
    }
    const delay = Math.min(MAX_RETRY_DELAY_S, 2 ** retry.attempt++);

    log(`bridge websocket closed abnormally (${event.code}), retrying in ${delay} s`);
    retry.timer = setTimeout(() => connectBridgeWebSocket(url), delay * 1000);
  };
}

/**
 * Sends one bridge-channel message.
 * @param {{colibriClass: string} & Record<string, unknown>} message
 * @returns {boolean} whether it was sent
 */
function sendBridge(message) {
  if (!state.channelOpen || !state.channel) return false;
  state.channel.send(JSON.stringify(message));

  return true;
}

function sendVideoType() {
  if (!localTrack('video') || !state.endpointId) return;
  sendBridge({
    colibriClass: 'SourceVideoTypeMessage',
    sourceName: `${state.endpointId}-v0`,
    videoType: state.camMuted ? 'none' : state.videoType,
  });
}

/**
 * Starts sending video in a session joined without it (`video=0`), as lib-jitsi-meet adds a track mid-call
 * (`JitsiConference.addTrack`): the bridge is told the source's video type first (`_setupNewTrack` →
 * `SourceVideoTypeMessage`, before the source is signalled), then a local renegotiation puts the track on the video
 * transceiver (`JingleSessionPC.addTracks` → `_renegotiate`) and the new source goes to the focus (Jingle
 * `source-add`; here `source-update`).
 * @param {'camera'|'desktop'} [videoType] what to announce (a screen share is `desktop`; the fake camera either way)
 * @returns {Promise<void>} when the source update is sent
 */
async function startVideo(videoType = 'camera') {
  if (localTrack('video')) throw new Error('already sending video');
  const stream = await navigator.mediaDevices.getUserMedia(mediaConstraints(false, true));

  state.localStream.addTrack(stream.getVideoTracks()[0]);
  state.videoType = videoType;
  sendVideoType();
  renderLocalTile();
  await queued(async () => {
    const pc = state.pc;

    if (pc?.remoteDescription) {
      await setRemoteOffer(pc, pc.remoteDescription.sdp);
      await attachLocalTracks(pc);
      await answer(pc);
      sendFocus({ type: 'source-update', jingle: answerToJingle(localSdp(pc), { endpointId: /** @type {string} */ (state.endpointId) }) });
    }
  });
}

/**
 * LJM ReceiveVideoController `_getReceiverVideoConstraints`: last-N, thumbnails at 180p (`defaultConstraints`),
 * the on-stage source (if any) in `onStageSources` with 720p.
 */
function sendReceiverConstraints() {
  const message = {
    colibriClass: 'ReceiverVideoConstraints',
    lastN: config.lastN,
    defaultConstraints: { maxHeight: THUMBNAIL_HEIGHT },
    onStageSources: state.onStage ? [state.onStage] : [],
    constraints: state.onStage ? { [state.onStage]: { maxHeight: STAGE_HEIGHT } } : {},
  };

  sendBridge(message);
}

/** Puts a source on stage (the clicked tile), or takes it off with `null`; tells the bridge. */
function setOnStage(source) {
  state.onStage = source;
  sendReceiverConstraints();
  renderTiles();
}

/** LJM sends no ClientHello: constraints, then the video type of each local video source. */
function onChannelOpen() {
  state.channelOpen = true;
  log(`bridge channel open (${state.channelKind})`);
  sendReceiverConstraints();
  sendVideoType();
  renderHeader();
}

function onBridgeData(data) {
  let message;

  try {
    message = JSON.parse(data);
  } catch {
    warn('bad bridge-channel message', data);

    return;
  }
  state.received.push(message);
  onBridgeMessage(message);
}

function onBridgeMessage(msg) {
  switch (msg.colibriClass) {
    case 'ServerHello':
      log('ServerHello', msg.version ?? '');
      break;
    case 'VideoSourcesMap':
    case 'AudioSourcesMap':
      onSourceMap(msg.colibriClass === 'VideoSourcesMap' ? 'video' : 'audio', msg.mappedSources ?? []);
      break;
    case 'DominantSpeakerEndpointChangeEvent':
      state.dominantSpeaker = msg.dominantSpeakerEndpoint;
      renderTiles();
      break;
    case 'ForwardedSources':
      state.forwardedSources = msg.forwardedSources ?? [];
      renderTiles();
      break;
    case 'EndpointStats':
      state.endpointStats[msg.from ?? ''] = msg;
      break;
    case 'SenderSourceConstraints':
      state.senderConstraints[msg.sourceName] = msg.maxHeight;
      log('SenderSourceConstraints', msg.sourceName, msg.maxHeight);
      if (msg.sourceName === `${state.endpointId}-v0` && typeof msg.maxHeight === 'number') {
        state.senderMaxHeight = msg.maxHeight;
        configureVideoSender();
      }
      break;
    case 'ConnectionStats':
      state.connectionStats = msg;
      break;
    case 'EndpointMessage':
      log('EndpointMessage from', msg.from, msg.msgPayload);
      break;
    default:
      log('bridge message', msg.colibriClass, msg);
  }
}

/**
 * Without SSRC rewriting: a Jingle `source-add` / `source-remove` from the focus, applied as LJM's
 * `JingleSessionPC.addRemoteStream` / `removeRemoteStream` do (`SDP.updateRemoteSources`, then a local renegotiation).
 * Removed sources lose their owner (their tile goes); their m-line stays, rejected.
 * @param {Array<{media: 'audio'|'video', sources: any[], ssrcGroups: any[]}>} contents
 * @param {boolean} isAdd
 */
function onRemoteSources(contents, isAdd) {
  enqueue(async () => {
    const pc = state.pc;

    if (!pc?.remoteDescription) return;
    if (isAdd) {
      state.counters = registerSignalledSources(state.counters, contents);
    } else {
      state.counters = structuredClone(state.counters);
      for (const ssrcs of [...jingleSourceMap(contents).values()].map((e) => e.ssrcList)) {
        const info = state.counters.ssrcs[String(ssrcs[0])];

        if (info?.source && state.counters.sources[info.source] === ssrcs[0]) delete state.counters.sources[info.source];
        if (info) Object.assign(info, { owner: null, source: null });
      }
    }
    const result = updateRemoteSources(pc.remoteDescription.sdp, contents, isAdd);

    if (result.changed) {
      await setRemoteOffer(pc, result.sdp);
      await answer(pc);
    }
    renderTiles();
  });
}

/** LJM processSourceMap: new SSRCs renegotiate (one cycle per message), known ones only change owner. */
function onSourceMap(mediaType, entries) {
  state.sourceMaps[mediaType].push(...entries);
  enqueue(async () => {
    const pc = state.pc;

    if (!pc?.remoteDescription) return;
    const result = addSourcesToRemoteSdp(pc.remoteDescription.sdp, mediaType, entries, state.counters);

    state.counters = result.counters;
    if (result.changed) {
      await setRemoteOffer(pc, result.sdp);
      await answer(pc);
    }
    renderTiles();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Remote media
// ---------------------------------------------------------------------------------------------------------------

/**
 * Makes sure the receiving transceiver of a remote source has its element (LJM `_remoteTrackAdded`: m-line by
 * `transceiver.mid`, its SSRC, then owner/source from the source maps). Bridge feedback m-lines are skipped.
 * @param {RTCRtpTransceiver} transceiver
 */
function syncSlot(transceiver) {
  const { mid } = transceiver;
  const sdp = state.pc?.remoteDescription?.sdp;

  if (mid === null || state.slots.has(mid) || !sdp) return;
  const media = mediaByMid(sdp).get(mid);

  if (!media?.ssrcs.length || media.msid?.startsWith('mixedmslabel')) return;
  const track = transceiver.receiver.track;
  const el = track.kind === 'video' ? createRemoteTile(track) : createRemoteAudio(track);

  state.slots.set(mid, { kind: track.kind, ssrc: media.ssrcs[0], track, el });
  renderAll();
}

function createRemoteAudio(track) {
  const audio = document.createElement('audio');

  audio.autoplay = true;
  audio.srcObject = new MediaStream([track]);
  $('audio').append(audio);
  audio.play().catch(() => {
    if (state.audioBlocked) return;
    state.audioBlocked = true;
    showNotice('Click anywhere to enable audio.', true);
  });

  return audio;
}

function createTile(track, { muted }) {
  const tile = document.createElement('div');
  const video = document.createElement('video');
  const label = document.createElement('span');

  tile.className = 'tile';
  video.autoplay = true;
  video.playsInline = true;
  video.muted = muted;
  if (track) video.srcObject = new MediaStream([track]);
  label.className = 'name';
  tile.append(video, label);
  tile.addEventListener('click', () => {
    const source = tile.dataset.source;

    if (source) setOnStage(state.onStage === source ? null : source);
  });

  return tile;
}

function createRemoteTile(track) {
  const tile = createTile(track, { muted: true });

  tile.hidden = true;
  $('grid').append(tile);

  return tile;
}

/** The owner/source of a remote slot, from the source maps. */
function slotSource(slot) {
  const info = state.counters.ssrcs[String(slot.ssrc)];

  return { owner: info?.owner ?? null, source: info?.source ?? null };
}

const displayNameOf = (id) => state.participants.get(id)?.displayName ?? id;

/**
 * The remote video tiles currently shown.
 * @returns {{owner: string, source: string, displayName: string, ssrc: number}[]}
 */
function visibleTiles() {
  return [...state.slots.values()]
    .filter((slot) => slot.kind === 'video')
    .map((slot) => ({ ...slotSource(slot), ssrc: slot.ssrc }))
    .filter((t) => t.owner && t.owner !== state.endpointId)
    .map((t) => {
      // Filtered above: a tile shown has an owner, and a source with it.
      const owner = /** @type {string} */ (t.owner);

      return { owner, source: /** @type {string} */ (t.source), displayName: displayNameOf(owner), ssrc: t.ssrc };
    });
}

function renderTiles() {
  for (const slot of state.slots.values()) {
    if (slot.kind !== 'video') continue;
    const { owner, source } = slotSource(slot);

    slot.el.hidden = !owner || owner === state.endpointId;
    slot.el.dataset.owner = owner ?? '';
    slot.el.dataset.source = source ?? '';
    slot.el.querySelector('.name').textContent = owner ? displayNameOf(owner) : '';
    slot.el.classList.toggle('speaking', !!owner && owner === state.dominantSpeaker);
    slot.el.classList.toggle('suspended', !!state.forwardedSources && !state.forwardedSources.includes(/** @type {string} */ (source)));
    slot.el.classList.toggle('on-stage', !!source && source === state.onStage);
  }
  $('local-tile')?.classList.toggle('speaking', !!state.endpointId && state.dominantSpeaker === state.endpointId);
  $('grid').dataset.count = String(visibleTiles().length + 1);
}

// ---------------------------------------------------------------------------------------------------------------
// UI
// ---------------------------------------------------------------------------------------------------------------

function renderHeader() {
  const ids = new Set(state.participants.keys());

  if (state.endpointId) ids.add(state.endpointId);
  $('room-name').textContent = config.room;
  $('participant-count').textContent = `${ids.size} participant${ids.size === 1 ? '' : 's'}`;
  const pcState = state.pc ? (state.pc.connectionState ?? state.pc.iceConnectionState) : 'idle';

  $('status').textContent = `${pcState} · bridge channel ${state.channelOpen ? 'open' : 'closed'} (${state.channelKind})`;
}

function renderLocalTile() {
  let tile = $('local-tile');

  if (!tile) {
    tile = createTile(null, { muted: true });
    tile.id = 'local-tile';
    tile.classList.add('local');
    $('grid').prepend(tile);
  }
  const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
  const track = localTrack('video');

  if (track && !video.srcObject) video.srcObject = new MediaStream([track]);
  tile.classList.toggle('no-video', !track || state.camMuted);
  /** @type {HTMLElement} */ (tile.querySelector('.name')).textContent = `${config.displayName} (you)`;
}

function renderAll() {
  renderHeader();
  renderTiles();
}

function renderButtons() {
  const mic = /** @type {HTMLButtonElement} */ ($('mic'));
  const cam = /** @type {HTMLButtonElement} */ ($('cam'));

  mic.textContent = state.micMuted ? 'Unmute' : 'Mute';
  mic.setAttribute('aria-pressed', String(state.micMuted));
  mic.disabled = !localTrack('audio');
  cam.textContent = state.camMuted ? 'Start camera' : 'Stop camera';
  cam.setAttribute('aria-pressed', String(state.camMuted));
  cam.disabled = !localTrack('video');
}

/**
 * @param {string} text
 * @param {boolean} [dismissOnClick] hide on the next click (and retry audio playback)
 */
function showNotice(text, dismissOnClick = false) {
  const notice = $('notice');

  notice.textContent = text;
  notice.hidden = false;
  if (dismissOnClick) {
    document.addEventListener(
      'click',
      () => {
        notice.hidden = true;
        state.audioBlocked = false;
        for (const a of /** @type {NodeListOf<HTMLAudioElement>} */ (document.querySelectorAll('#audio audio'))) a.play().catch(() => {});
      },
      { once: true },
    );
  }
}

function toggleMic() {
  const track = localTrack('audio');

  if (!track) return;
  state.micMuted = !state.micMuted;
  track.enabled = !state.micMuted;
  renderButtons();
}

/** Camera off: the sender stops (replaceTrack null, same SSRCs); the bridge is told videoType `none` (LJM). */
async function toggleCam() {
  const track = localTrack('video');

  if (!track) return;
  state.camMuted = !state.camMuted;
  track.enabled = !state.camMuted;
  const transceiver = localTransceiver(state.pc, 'video');

  if (transceiver && transceiver.direction === 'sendrecv') {
    await transceiver.sender.replaceTrack(state.camMuted ? null : track);
  }
  sendVideoType();
  renderButtons();
  renderLocalTile();
}

/**
 * Test hook: replaces the microphone by a WebAudio sine tone of `frequencyHz` at `gain` (0 = silence, 1 = full
 * scale), so that tests can make one participant louder than another. The sender's SSRC stays the same.
 * @param {number} gain linear amplitude, 0..1
 * @param {number} [frequencyHz]
 */
async function setTone(gain, frequencyHz = 440) {
  if (!state.tone) {
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    const amplifier = context.createGain();
    const destination = context.createMediaStreamDestination();

    oscillator.connect(amplifier).connect(destination);
    oscillator.start();
    await context.resume();
    state.tone = { context, oscillator, amplifier, track: destination.stream.getAudioTracks()[0] };
  }
  state.tone.oscillator.frequency.value = frequencyHz;
  state.tone.amplifier.gain.value = gain;
  const transceiver = localTransceiver(state.pc, 'audio');

  if (transceiver && transceiver.direction === 'sendrecv') await transceiver.sender.replaceTrack(state.tone.track);
}

function leave() {
  if (state.left) return;
  state.left = true;
  state.focus?.close(1000, 'leave');
  closeSession();
  for (const t of state.localStream.getTracks()) t.stop();
  $('controls').hidden = true;
  const notice = $('notice');

  notice.textContent = 'You left the room. ';
  const rejoin = document.createElement('a');

  rejoin.href = location.href;
  rejoin.textContent = 'Rejoin';
  notice.append(rejoin);
  notice.hidden = false;
}

function showLobby() {
  $('lobby').hidden = false;
  $('controls').hidden = true;
  $('grid').hidden = true;
  $('lobby').addEventListener('submit', (event) => {
    event.preventDefault();
    const room = /** @type {HTMLInputElement} */ ($('lobby-room')).value.trim();
    const name = /** @type {HTMLInputElement} */ ($('lobby-name')).value.trim();

    if (room) location.href = `/${encodeURIComponent(room)}${name ? `?name=${encodeURIComponent(name)}` : ''}`;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Test hook and start
// ---------------------------------------------------------------------------------------------------------------

/** @type {Window & {octobridge?: unknown}} */ (window).octobridge = {
  get endpointId() {
    return state.endpointId;
  },
  get participants() {
    return state.participants;
  },
  get sourceMaps() {
    return state.sourceMaps;
  },
  get received() {
    return state.received;
  },
  get channelOpen() {
    return state.channelOpen;
  },
  get channelKind() {
    return state.channelKind;
  },
  get pc() {
    return state.pc;
  },
  get offerSdp() {
    return state.offerSdp;
  },
  /**
   * When (performance.now(), ms) the session's remote offer was applied (`remoteOffer`) and its connection first
   * reached each ICE connection state (`checking`, `connected` ...): null before the first session.
   */
  get iceTiming() {
    return state.iceTiming;
  },
  get counters() {
    return state.counters;
  },
  get displayName() {
    return config.displayName;
  },
  get senderConstraints() {
    return state.senderConstraints;
  },
  get forwardedSources() {
    return state.forwardedSources;
  },
  get dominantSpeaker() {
    return state.dominantSpeaker;
  },
  get onStage() {
    return state.onStage;
  },
  get codec() {
    return config.codec;
  },
  /** The local codec preference order this page announces (`codecList`). */
  get codecList() {
    return config.codecList;
  },
  get codecSwitches() {
    return state.codecSwitches;
  },
  setCodec,
  send: sendBridge,
  tiles: visibleTiles,
  stage: setOnStage,
  setTone,
  startVideo,
  leave,
};

async function main() {
  if (!config.room) {
    showLobby();

    return;
  }
  document.title = `${config.room} · octobridge`;
  $('mic').addEventListener('click', toggleMic);
  $('cam').addEventListener('click', () => toggleCam().catch((err) => warn('camera toggle failed', err)));
  $('leave').addEventListener('click', leave);
  window.addEventListener('pagehide', () => state.focus?.close(1000, 'pagehide'));
  window.addEventListener('beforeunload', () => state.focus?.close(1000, 'unload'));
  renderHeader();
  state.localStream = await getLocalStream();
  renderLocalTile();
  renderButtons();
  connectFocus();
}

main().catch((err) => {
  warn(err);
  showNotice(`Failed to start: ${err?.message ?? err}`);
});
