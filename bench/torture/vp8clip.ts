/**
 * Real VP8 for the lightweight participants, with no encoder in Node: a few seconds of frames
 * that Debian's Chromium encodes from its fake camera (libvpx, the same encoder a Jitsi Meet user
 * on Chromium runs), recorded once through encoded insertable streams
 * (`RTCPeerConnection({encodedInsertableStreams: true})`, `sender.createEncodedStreams()`) and
 * cached in a file. Three layers, as lib-jitsi-meet's VP8 simulcast sends them: 320x180,
 * 640x360 and 1280x720 (scale 4/2/1 of a 1280x720 camera, at most 150 / 500 / 1500 kbps), each
 * its own peer connection so that each runs at its own bitrate. Every layer starts with a
 * keyframe and has no other (libvpx in WebRTC makes keyframes only when asked), so the clip loops
 * cleanly: after the last frame comes the first, a keyframe.
 *
 * {@link Vp8ClipStream} sends one layer as RTP (RFC 7741: 4-byte payload descriptor with a 15-bit
 * picture ID, payloads of at most {@link MAX_PAYLOAD} bytes, marker on a frame's last packet,
 * 90 kHz timestamps at 30 fps), loops it, and answers a keyframe request by starting over at the
 * keyframe. Receivers (Chromium or the light clients) decode or reassemble real frames.
 *
 * Audio: opus silence frames (`f8 ff fe`, 20 ms CELT) at 50 packets/s with `ssrc-audio-level`.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { RtpHeader, RtpPacket } from 'werift';
import { CHROMIUM, CHROMIUM_ARGS } from '../../test/helpers/chromium.ts';
import { audioHeader, type PacedStream } from '../forwarding/media.ts';

/** One encoded frame. */
export interface ClipFrame {
  key: boolean;
  data: Buffer;
}

/** One layer of the clip: its frame size and its frames (the first a keyframe). */
export interface ClipLayer {
  width: number;
  height: number;
  frames: ClipFrame[];
}

/** The recorded clip, low to high layer. */
export interface Vp8Clip {
  layers: ClipLayer[];
}

/** Frame rate the clip is recorded and sent at. */
export const CLIP_FPS = 30;
/** Largest RTP payload of a video packet, bytes (descriptor included), as a browser's packetizer keeps under the MTU. */
export const MAX_PAYLOAD = 1100;
/** Layers: scale-down factor of the 1280x720 camera and the encoder's maximum bitrate (lib-jitsi-meet's VP8 values). */
const LAYERS = [
  { scale: 4, maxBitrate: 150_000 },
  { scale: 2, maxBitrate: 500_000 },
  { scale: 1, maxBitrate: 1_500_000 },
];
const MAGIC = Buffer.from('OBV8');
const FORMAT_VERSION = 1;

/** Serialize: `OBV8`, version, layer count, then per layer width, height, frame count and the frames (key flag, length, bytes). */
export function encodeClip(clip: Vp8Clip): Buffer {
  const parts: Buffer[] = [MAGIC, Buffer.from([FORMAT_VERSION, clip.layers.length])];
  for (const l of clip.layers) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(l.width, 0);
    h.writeUInt16BE(l.height, 2);
    h.writeUInt32BE(l.frames.length, 4);
    parts.push(h);
    for (const f of l.frames) {
      const fh = Buffer.alloc(5);
      fh.writeUInt8(f.key ? 1 : 0, 0);
      fh.writeUInt32BE(f.data.length, 1);
      parts.push(fh, f.data);
    }
  }
  return Buffer.concat(parts);
}

/** Parse {@link encodeClip}'s format. @throws Error when the data is not such a clip. */
export function decodeClip(buf: Buffer): Vp8Clip {
  if (buf.length < 6 || !buf.subarray(0, 4).equals(MAGIC) || buf[4] !== FORMAT_VERSION) throw new Error('not a VP8 clip file (or an older format)');
  const layers: ClipLayer[] = [];
  let off = 6;
  for (let i = 0; i < (buf[5] as number); i++) {
    const width = buf.readUInt16BE(off);
    const height = buf.readUInt16BE(off + 2);
    const n = buf.readUInt32BE(off + 4);
    off += 8;
    const frames: ClipFrame[] = [];
    for (let k = 0; k < n; k++) {
      const key = buf[off] === 1;
      const len = buf.readUInt32BE(off + 1);
      frames.push({ key, data: buf.subarray(off + 5, off + 5 + len) });
      off += 5 + len;
    }
    if (frames.length === 0 || !frames[0]?.key) throw new Error(`VP8 clip layer ${i} does not start with a keyframe`);
    layers.push({ width, height, frames });
  }
  return { layers };
}

/** What the page returns per layer: frames as base64. */
interface RecordedLayer {
  width: number;
  height: number;
  frames: { key: boolean; b64: string }[];
}

/**
 * Record the clip with headless Chromium (about 9 s: 4 s for each layer's bitrate to ramp up,
 * `seconds` of recording from the keyframe that re-enabling the encoding forces).
 * @throws Error when Chromium cannot start or a layer recorded no keyframe.
 */
export async function recordClip(seconds = 4): Promise<Vp8Clip> {
  // getUserMedia needs a secure context: a page from http://127.0.0.1.
  const server = http.createServer((_req, res) => res.end('<!doctype html><title>clip</title>'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const layers = await page.evaluate(recordInPage, { layers: LAYERS, ms: seconds * 1000 });
    return {
      layers: layers.map((l: RecordedLayer, i: number) => {
        if (!l.frames[0]?.key) throw new Error(`VP8 clip layer ${i}: no keyframe recorded`);
        return { width: l.width, height: l.height, frames: l.frames.map((f) => ({ key: f.key, data: Buffer.from(f.b64, 'base64') })) };
      }),
    };
  } finally {
    await browser.close().catch(() => undefined);
    server.close();
  }
}

/** Runs in the page: one loopback peer connection pair per layer, frames taken from the sender's encoded stream. */
async function recordInPage({ layers, ms }: { layers: { scale: number; maxBitrate: number }[]; ms: number }): Promise<RecordedLayer[]> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } });
  const track = stream.getVideoTracks()[0] as MediaStreamTrack;
  const recording = { on: false };
  const out: RecordedLayer[] = layers.map(() => ({ width: 0, height: 0, frames: [] }));
  const toB64 = (buf: ArrayBuffer): string => {
    let s = '';
    for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
    return btoa(s);
  };
  await Promise.all(
    layers.map(async ({ scale, maxBitrate }, i) => {
      const pc1 = new RTCPeerConnection({ encodedInsertableStreams: true } as RTCConfiguration);
      const pc2 = new RTCPeerConnection();
      pc1.onicecandidate = (e) => void (e.candidate && pc2.addIceCandidate(e.candidate));
      pc2.onicecandidate = (e) => void (e.candidate && pc1.addIceCandidate(e.candidate));
      const t = pc1.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ scaleResolutionDownBy: scale, maxBitrate }] });
      t.setCodecPreferences((RTCRtpSender.getCapabilities('video')?.codecs ?? []).filter((c) => c.mimeType === 'video/VP8'));
      const sender = t.sender as RTCRtpSender & { createEncodedStreams(): { readable: ReadableStream; writable: WritableStream } };
      const { readable, writable } = sender.createEncodedStreams();
      const layer = out[i] as RecordedLayer;
      void readable
        .pipeThrough(
          new TransformStream({
            transform(frame: RTCEncodedVideoFrame, ctl) {
              if (recording.on && (layer.frames.length > 0 || frame.type === 'key')) {
                const md = frame.getMetadata();
                layer.width ||= md.width ?? 0;
                layer.height ||= md.height ?? 0;
                layer.frames.push({ key: frame.type === 'key', b64: toB64(frame.data) });
              }
              ctl.enqueue(frame);
            },
          }),
        )
        .pipeTo(writable);
      const params = t.sender.getParameters();
      params.degradationPreference = 'maintain-resolution';
      await t.sender.setParameters(params);
      await pc1.setLocalDescription();
      await pc2.setRemoteDescription(pc1.localDescription as RTCSessionDescription);
      await pc2.setLocalDescription();
      // Start the bandwidth estimate at the layer's bitrate (x-google-start-bitrate, kbps).
      const kbps = Math.round(maxBitrate / 1000);
      const answer = (pc2.localDescription?.sdp ?? '').replace(/(a=rtpmap:(\d+) VP8\/90000\r\n)/, (_m, line: string, pt: string) => `${line}a=fmtp:${pt} x-google-start-bitrate=${kbps};x-google-min-bitrate=${Math.round(kbps * 0.8)}\r\n`);
      await pc1.setRemoteDescription({ type: 'answer', sdp: answer });
      await new Promise((r) => setTimeout(r, 4000));
      recording.on = true;
      // Off and on again: the encoder restarts with a keyframe, where the recording starts.
      const off = t.sender.getParameters();
      (off.encodings[0] as RTCRtpEncodingParameters).active = false;
      await t.sender.setParameters(off);
      const on = t.sender.getParameters();
      (on.encodings[0] as RTCRtpEncodingParameters).active = true;
      await t.sender.setParameters(on);
    }),
  );
  await new Promise((r) => setTimeout(r, ms + 100));
  recording.on = false;
  for (const l of out) l.frames = l.frames.slice(0, Math.round((ms / 1000) * 30));
  return out;
}

/**
 * The clip from `file`, or recorded with Chromium and written there (directories made) when
 * the file is missing or unreadable.
 * @throws Error when it must be recorded and recording fails.
 */
export async function loadOrRecordClip(file: string, log: (line: string) => void = () => undefined): Promise<Vp8Clip> {
  try {
    return decodeClip(fs.readFileSync(file));
  } catch {
    log(`recording the VP8 clip with Chromium into ${file} (once; ~9 s)`);
  }
  const clip = await recordClip();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodeClip(clip));
  return clip;
}

/** The opus silence frame (TOC 0xf8: CELT fullband 20 ms, mono; then the silence bytes). */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

/** One layer of a {@link Vp8Clip} as RTP, looped; see the module docstring. */
export class Vp8ClipStream implements PacedStream {
  readonly #layer: ClipLayer;
  #next = 0;
  #seq = Math.floor(Math.random() * 0xffff);
  #ts = Math.floor(Math.random() * 0xffffffff);
  #pictureId = Math.floor(Math.random() * 0x7fff);
  #audioSeq = Math.floor(Math.random() * 0xffff);
  #audioTs = Math.floor(Math.random() * 0xffffffff);

  constructor(layer: ClipLayer) {
    this.#layer = layer;
  }

  /** Frame size of this layer. */
  get height(): number {
    return this.#layer.height;
  }

  requestKeyFrame(): void {
    this.#next = 0;
  }

  nextVideoFrame(): RtpPacket[] {
    const frame = this.#layer.frames[this.#next] as ClipFrame;
    this.#next = (this.#next + 1) % this.#layer.frames.length;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    this.#ts = (this.#ts + 90_000 / CLIP_FPS) >>> 0;
    const chunk = MAX_PAYLOAD - 4;
    const count = Math.max(1, Math.ceil(frame.data.length / chunk));
    const packets: RtpPacket[] = [];
    for (let i = 0; i < count; i++) {
      const descriptor = Buffer.from([0x80 | (i === 0 ? 0x10 : 0), 0x80, 0x80 | (this.#pictureId >> 8), this.#pictureId & 0xff]);
      this.#seq = (this.#seq + 1) & 0xffff;
      const header = new RtpHeader({ sequenceNumber: this.#seq, timestamp: this.#ts, marker: i === count - 1 });
      packets.push(new RtpPacket(header, Buffer.concat([descriptor, frame.data.subarray(i * chunk, (i + 1) * chunk)])));
    }
    return packets;
  }

  nextAudioPacket(): RtpPacket {
    this.#audioSeq = (this.#audioSeq + 1) & 0xffff;
    this.#audioTs = (this.#audioTs + 960) >>> 0;
    return new RtpPacket(audioHeader(this.#audioSeq, this.#audioTs), OPUS_SILENCE);
  }
}
