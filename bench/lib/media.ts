/**
 * Synthetic media for the forwarding benchmark: RTP packets shaped like what a browser sends
 * (VP8 video with a valid payload descriptor, opus-sized audio), built from templates with no
 * encoding work, each carrying a trailer with its send time so receivers can measure delay.
 *
 * Packet shapes (payload bytes, before the RTP header werift adds and the SRTP tag):
 * - video: VP8 payload descriptor (RFC 7741 §4.2, 4 bytes: X=1, S on the first packet of a frame,
 *   I=1 with a 15-bit picture ID), on the first packet the VP8 payload header (3 bytes, P=0 on a
 *   keyframe; a keyframe also gets the start code and 1280x720), then filler, then the trailer.
 *   `packetsPerFrame` packets per frame, the last with the RTP marker bit; 90 kHz timestamps.
 * - audio: an opus TOC byte (0x78, SILK/hybrid 20 ms) + filler + trailer, 48 kHz timestamps
 *   (960 per 20 ms packet), and the `ssrc-audio-level` header extension (id 1, as Jicofo numbers it).
 *
 * Trailer (last {@link TRAILER_BYTES} bytes of every payload): magic `OBFW`, the sender's
 * `process.hrtime.bigint()` at the moment the packet was handed to werift (ns, u64 BE), and the
 * sender's index (u32 BE). Senders and receivers live in one process, so one clock serves both.
 */
import { RtpHeader, RtpPacket } from 'werift';

/** Size of the timing trailer at the end of every payload, bytes. */
export const TRAILER_BYTES = 16;
const MAGIC = 0x4f424657; // 'OBFW'

/** `ssrc-audio-level` header extension id (Jicofo's numbering, src/media/rtp.ts JICOFO_NUMBERING). */
export const AUDIO_LEVEL_EXT_ID = 1;

/** The offered load of one sender. */
export interface LoadProfile {
  /** Video frames per second. */
  videoFps: number;
  /** RTP packets per video frame. */
  packetsPerFrame: number;
  /** Video bitrate, kbps of RTP payload. */
  videoKbps: number;
  /** Every Nth video frame is a keyframe (also the next frame after a PLI). */
  keyframeInterval: number;
  /** Audio packets per second (20 ms opus = 50). */
  audioPps: number;
  /** Audio payload bytes per packet (32 kbps opus at 50 pps = 80). */
  audioBytes: number;
}

/** Video payload bytes per packet for a profile (bitrate spread evenly over the packets). */
export function videoPayloadBytes(p: LoadProfile): number {
  return Math.max(32, Math.round((p.videoKbps * 1000) / 8 / (p.videoFps * p.packetsPerFrame)));
}

/** RTP packets per second one sender sends (video + audio). */
export function senderPps(p: LoadProfile): number {
  return p.videoFps * p.packetsPerFrame + p.audioPps;
}

/** Write the trailer into the end of `payload`. */
function stampTrailer(payload: Buffer, senderIndex: number): void {
  const at = payload.length - TRAILER_BYTES;
  payload.writeUInt32BE(MAGIC, at);
  payload.writeBigUInt64BE(process.hrtime.bigint(), at + 4);
  payload.writeUInt32BE(senderIndex, at + 12);
}

/** The trailer of a received payload, or undefined when it has none (RTCP-less probes, padding). */
export function readTrailer(payload: Buffer): { sentNs: bigint; senderIndex: number } | undefined {
  const at = payload.length - TRAILER_BYTES;
  if (at < 0 || payload.readUInt32BE(at) !== MAGIC) return undefined;
  return { sentNs: payload.readBigUInt64BE(at + 4), senderIndex: payload.readUInt32BE(at + 12) };
}

/** The VP8 payload descriptor + (first packet) payload header + filler, without the trailer. */
function vp8Template(size: number, first: boolean, key: boolean): Buffer {
  const b = Buffer.alloc(size, 0xa5);
  b[0] = 0x80 | (first ? 0x10 : 0); // X=1, N=0, S, PID=0
  b[1] = 0x80; // I=1 (picture ID present), L=T=K=0
  b[2] = 0x80; // M=1: 15-bit picture ID (bytes 2-3, written per frame)
  b[3] = 0x00;
  if (first) {
    // VP8 payload header (RFC 6386 §9.1): size0 | show_frame | version 0 | P (0 = keyframe).
    b[4] = key ? 0x10 : 0x11;
    b[5] = 0x40;
    b[6] = 0x00;
    if (key) b.set([0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02], 7); // start code, 1280x720
  }
  return b;
}

/**
 * Builds one sender's packets: templates made once, copied and stamped per packet (a memcpy,
 * no codec work). Sequence numbers and timestamps start at random values, as a browser's do.
 */
export class SyntheticStream implements PacedStream {
  readonly #senderIndex: number;
  readonly #profile: LoadProfile;
  /** [key][packet index] payload templates without the trailer. */
  readonly #video: Buffer[][];
  readonly #audio: Buffer;
  #videoSeq = Math.floor(Math.random() * 0xffff);
  #audioSeq = Math.floor(Math.random() * 0xffff);
  #videoTs = Math.floor(Math.random() * 0xffffffff);
  #audioTs = Math.floor(Math.random() * 0xffffffff);
  #pictureId = Math.floor(Math.random() * 0x7fff);
  #frames = 0;
  #keyRequested = true;

  constructor(senderIndex: number, profile: LoadProfile) {
    this.#senderIndex = senderIndex;
    this.#profile = profile;
    const size = Math.max(videoPayloadBytes(profile), 32);
    this.#video = [false, true].map((key) => Array.from({ length: profile.packetsPerFrame }, (_, i) => vp8Template(size, i === 0, key)));
    this.#audio = Buffer.alloc(Math.max(profile.audioBytes, TRAILER_BYTES + 1), 0x5a);
    this.#audio[0] = 0x78;
  }

  /** Make the next video frame a keyframe (a PLI arrived). */
  requestKeyFrame(): void {
    this.#keyRequested = true;
  }

  /** The packets of the next video frame, stamped now. */
  nextVideoFrame(): RtpPacket[] {
    const key = this.#keyRequested || this.#frames % this.#profile.keyframeInterval === 0;
    this.#keyRequested = false;
    this.#frames += 1;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    this.#videoTs = (this.#videoTs + Math.round(90000 / this.#profile.videoFps)) >>> 0;
    const templates = this.#video[key ? 1 : 0] ?? [];
    return templates.map((t, i) => {
      const payload = Buffer.from(t);
      payload[2] = 0x80 | (this.#pictureId >> 8);
      payload[3] = this.#pictureId & 0xff;
      stampTrailer(payload, this.#senderIndex);
      this.#videoSeq = (this.#videoSeq + 1) & 0xffff;
      const header = new RtpHeader({
        sequenceNumber: this.#videoSeq,
        timestamp: this.#videoTs,
        marker: i === templates.length - 1,
      });
      return new RtpPacket(header, payload);
    });
  }

  /** The next audio packet (20 ms at 50 pps), stamped now. */
  nextAudioPacket(): RtpPacket {
    const payload = Buffer.from(this.#audio);
    stampTrailer(payload, this.#senderIndex);
    this.#audioSeq = (this.#audioSeq + 1) & 0xffff;
    this.#audioTs = (this.#audioTs + Math.round(48000 / this.#profile.audioPps)) >>> 0;
    return new RtpPacket(audioHeader(this.#audioSeq, this.#audioTs), payload);
  }
}

/** The RTP header of an audio packet, with `ssrc-audio-level` (V=1: voice activity, level 30 -dBov). */
export function audioHeader(sequenceNumber: number, timestamp: number): RtpHeader {
  return new RtpHeader({
    sequenceNumber,
    timestamp,
    extension: true,
    extensions: [{ id: AUDIO_LEVEL_EXT_ID, payload: Buffer.from([0x80 | 30]) }],
  });
}

/** What the {@link Pacer} sends from: one sender's video frames and audio packets. */
export interface PacedStream {
  /** The RTP packets of the next video frame (the last with the marker bit). */
  nextVideoFrame(): RtpPacket[];
  /** The next audio packet. */
  nextAudioPacket(): RtpPacket;
  /** Make the next video frame a keyframe. */
  requestKeyFrame(): void;
}

/** Where a sender's packets go (werift tracks). */
export interface PacketSink {
  sendVideo(p: RtpPacket): void;
  sendAudio(p: RtpPacket): void;
}

/**
 * Paces every sender from one 5 ms timer: each sender sends the frames and audio packets that are
 * due by its own clock (start offsets staggered so senders do not all fire in the same tick).
 * A frame's packets go out back to back, as a browser's pacer sends small frames. A sender added
 * while the pacer runs starts at once (its clock starts when it is added).
 */
export class Pacer {
  readonly #profile: LoadProfile;
  readonly #senders: { stream: PacedStream; sink: PacketSink; offsetMs: number; frames: number; audio: number; withAudio: boolean }[] = [];
  readonly #maxBurst: number;
  #timer: NodeJS.Timeout | undefined;
  #t0 = 0;
  /** Packets handed to werift since start. */
  sent = 0;
  /** Video frames not sent because more than `maxBurstFrames` were due at once (a stalled event loop). */
  skippedFrames = 0;

  /**
   * `opts.maxBurstFrames`: when a sender is more than this many frames behind (the event loop
   * stalled), the older ones are skipped as a browser's encoder drops frames, instead of going out
   * in one burst (default: never skip).
   */
  constructor(profile: LoadProfile, opts: { maxBurstFrames?: number } = {}) {
    this.#profile = profile;
    this.#maxBurst = opts.maxBurstFrames ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Send `stream` into `sink` from now on. `opts.audio` false: video only (e.g. the second and
   * third simulcast encodings of a sender, whose audio goes with the first).
   */
  add(stream: PacedStream, sink: PacketSink, opts: { audio?: boolean } = {}): void {
    const stagger = (this.#senders.length * 7) % Math.round(1000 / this.#profile.videoFps);
    const offsetMs = stagger + (this.#timer ? performance.now() - this.#t0 : 0);
    this.#senders.push({ stream, sink, offsetMs, frames: 0, audio: 0, withAudio: opts.audio ?? true });
  }

  /** Stop sending `stream` (no-op when it is not paced). */
  remove(stream: PacedStream): void {
    const i = this.#senders.findIndex((s) => s.stream === stream);
    if (i >= 0) this.#senders.splice(i, 1);
  }

  start(): void {
    this.#t0 = performance.now();
    this.#timer = setInterval(() => this.#tick(), 5);
  }

  #tick(): void {
    const now = performance.now() - this.#t0;
    const p = this.#profile;
    for (const s of this.#senders) {
      const t = now - s.offsetMs;
      if (t < 0) continue;
      const framesDue = Math.floor((t * p.videoFps) / 1000) + 1;
      if (framesDue - s.frames > this.#maxBurst) {
        this.skippedFrames += framesDue - this.#maxBurst - s.frames;
        s.frames = framesDue - this.#maxBurst;
      }
      for (; s.frames < framesDue; s.frames++) {
        const packets = s.stream.nextVideoFrame();
        for (const pkt of packets) s.sink.sendVideo(pkt);
        this.sent += packets.length;
      }
      if (!s.withAudio) continue;
      const audioDue = Math.floor((t * p.audioPps) / 1000) + 1;
      for (; s.audio < audioDue; s.audio++) {
        s.sink.sendAudio(s.stream.nextAudioPacket());
        this.sent += 1;
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
