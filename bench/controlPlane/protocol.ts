/**
 * What the control-plane benchmark's parent (fleet.ts) and its client processes (clients.ts)
 * exchange over the fork IPC channel, and the load of a sending endpoint.
 */
import type { LoadProfile } from '../lib/media.ts';

/** One conference to join: its endpoints in join order (the first creates it). */
export interface ConferencePlan {
  meetingId: string;
  endpoints: string[];
}

/** Parent → child: join conferences on the bridge's private REST server `bridgeUrl`, or close every endpoint and exit. */
export type ClientCommand = { type: 'join'; bridgeUrl: string; conferences: ConferencePlan[]; senders: string[]; concurrency: number } | { type: 'close' };

/** Child → parent. `ms`: wall time of the join command; `failed` -1 when the whole command failed. */
export type ClientEvent = { type: 'joined'; connected: number; failed: number; errors: string[]; ms: number } | { type: 'closed' };

/** The forwarding benchmark's default sender (≈ 600 kbps VP8-shaped video at 30 fps × 3 packets + 50 pps × 80 B opus-shaped audio). */
export const SENDER_PROFILE: LoadProfile = { videoFps: 30, packetsPerFrame: 3, videoKbps: 600, keyframeInterval: 300, audioPps: 50, audioBytes: 80 };
