/**
 * The standalone page's SDP module (src/focus/page/sdp.js: a plain ES module with no build step
 * and no .d.ts; its JSDoc documents the shapes), typed for the benchmarks' clients, which build
 * their remote offer and their session-accept exactly as the page (lib-jitsi-meet) does.
 */
import type { JingleSession } from '../../src/focus/protocol.ts';
// @ts-expect-error -- plain ES module of the page, see above.
import * as sdpModule from '../../src/focus/page/sdp.js';

/** sdp.js `createSimulcastCache` state: SIM SSRCs by mid, RTX SSRC by primary. */
export interface SimulcastCache {
  sim: Record<string, number[]>;
  rtx: Record<string, number>;
}

/** The functions of sdp.js the benchmarks use. */
export interface PageSdp {
  /** Jicofo's session-initiate → the remote offer lib-jitsi-meet applies (no `a=ice-lite` unless asked). */
  jingleToSdp(jingle: JingleSession, options?: { sessionId?: number | string; iceLite?: boolean }): string;
  /** The local answer → the session-accept Jingle (sources of the sending m-lines, BUNDLE group). */
  answerToJingle(sdp: string, options: { endpointId: string; tpcId?: number; videoType?: string }): JingleSession;
  /** lib-jitsi-meet's simulcast munging: a sending video m-line gets 3 SSRCs in a SIM group, each with RTX (FID). */
  mungeSimulcast(sdp: string, cache: SimulcastCache): string;
  createSimulcastCache(): SimulcastCache;
}

/** sdp.js, typed. */
export const pageSdp = sdpModule as unknown as PageSdp;
