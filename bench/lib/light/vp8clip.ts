/**
 * Real VP8 for the lightweight participants, with no encoder in Node: a few seconds of frames
 * that Debian's Chromium encoded from its fake camera (clipRecorder.ts), in three layers as
 * lib-jitsi-meet's VP8 simulcast sends them (320x180, 640x360, 1280x720), each starting with its
 * only keyframe, so the clip loops cleanly: after the last frame comes the first, a keyframe.
 * This module holds the clip's file format and sends it.
 *
 * {@link Vp8ClipStream} sends one layer as RTP (RFC 7741: 4-byte payload descriptor with a 15-bit
 * picture ID, payloads of at most {@link MAX_PAYLOAD} bytes, marker on a frame's last packet,
 * 90 kHz timestamps at 30 fps), loops it, and answers a keyframe request by starting over at the
 * keyframe. Receivers (Chromium or the light clients) decode or reassemble real frames.
 *
 * Audio: opus silence frames (`f8 ff fe`, 20 ms CELT) at 50 packets/s with `ssrc-audio-level`.
 */
import { RtpHeader, RtpPacket } from 'werift';
import { audioHeader, type PacedStream } from '../media.ts';

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
