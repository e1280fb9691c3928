/**
 * Records the VP8 clip of vp8clip.ts: Debian's Chromium encodes its fake camera (libvpx, the same
 * encoder a Jitsi Meet user on Chromium runs), and the frames are taken through encoded insertable
 * streams (`RTCPeerConnection({encodedInsertableStreams: true})`, `sender.createEncodedStreams()`)
 * of a loopback call in the page. Three layers as lib-jitsi-meet's VP8 simulcast sends them
 * (scale 4/2/1 of a 1280x720 camera, at most 150 / 500 / 1500 kbps), each its own peer connection
 * so that each runs at its own bitrate; libvpx in WebRTC makes keyframes only when asked, so each
 * layer has exactly one, at the start (the encoding is turned off and on again to get it).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../lib/chromium.ts';
import { decodeClip, encodeClip, type Vp8Clip } from '../lib/light/vp8clip.ts';

/** Layers: scale-down factor of the 1280x720 camera and the encoder's maximum bitrate (lib-jitsi-meet's VP8 values). */
const LAYERS = [
  { scale: 4, maxBitrate: 150_000 },
  { scale: 2, maxBitrate: 500_000 },
  { scale: 1, maxBitrate: 1_500_000 },
];

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
      const answer = (pc2.localDescription?.sdp ?? '').replace(
        /(a=rtpmap:(\d+) VP8\/90000\r\n)/,
        (_m, line: string, pt: string) => `${line}a=fmtp:${pt} x-google-start-bitrate=${kbps};x-google-min-bitrate=${Math.round(kbps * 0.8)}\r\n`,
      );
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
