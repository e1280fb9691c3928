/**
 * A client agent of the torture harness: a child process (`fork`) that hosts lightweight
 * participants (light.ts) and answers the orchestrator over IPC (types.ts `AgentCommand` /
 * `AgentEvent`). Participants live outside the orchestrator so that its sampling and progress
 * bar keep their pace, the load can use more than one core (`--agents`), and the cost of a
 * lightweight participant is this process's CPU and memory divided by its participants.
 *
 * Started as `node bench/torture/agent.ts '<AgentConfig JSON>'`. One pacer (5 ms timer) sends
 * every sender's media; when the event loop stalls more than 2 frames, frames are skipped (and
 * counted) instead of sent in a burst. The event loop delay (p99 of each sampling interval) is
 * reported so that an overloaded agent is told apart from an overloaded server.
 */
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pacer } from '../lib/media.ts';
import { ImpairmentRelay } from '../lib/light/impair.ts';
import { joinJanus } from './janus.ts';
import { joinOctobridge, LightParticipant } from '../lib/light/light.ts';
import { joinRaw } from './rawClient.ts';
import { nowMs } from '../lib/light/receive.ts';
import type { AgentCommand, AgentConfig, AgentEvent } from '../lib/light/types.ts';
import { decodeClip } from '../lib/light/vp8clip.ts';

const cfg = JSON.parse(process.argv[2] ?? '{}') as AgentConfig;
const send = (e: AgentEvent): void => void process.send?.(e);
const clip = cfg.media === 'vp8' ? decodeClip(fs.readFileSync(cfg.clipFile)) : undefined;
const pacer = new Pacer({ videoFps: 30, packetsPerFrame: 3, videoKbps: 600, keyframeInterval: 300, audioPps: 50, audioBytes: 80 }, { maxBurstFrames: 2 });
pacer.start();
/** The impairment relay exists from the start when loss is asked for at any time of the run. */
const relay = cfg.loss > 0 ? new ImpairmentRelay(0) : undefined;
const participants: LightParticipant[] = [];
const connections: { close(): void }[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

async function join(cmd: Extract<AgentCommand, { type: 'join' }>): Promise<void> {
  const p = new LightParticipant(cmd.spec, cfg, pacer, clip);
  participants.push(p);
  try {
    connections.push(
      cfg.server === 'janus' ? await joinJanus(p, cfg.url) : cfg.server === 'raw' ? await joinRaw(p, cfg.url) : await joinOctobridge(p, cfg.url, cfg, relay),
    );
    send({ type: 'joined', id: p.spec.id, connectedAt: p.connectedAt ?? nowMs() });
  } catch (err) {
    const message = (err as Error).message;
    if (!p.errors.includes(message)) p.errors.push(message);
    send({ type: 'error', id: p.spec.id, message });
  }
}

async function close(): Promise<void> {
  pacer.stop();
  for (const c of connections) c.close();
  await Promise.all(participants.map((p) => p.close()));
  relay?.close();
  process.exit(0);
}

process.on('message', (cmd: AgentCommand) => {
  switch (cmd.type) {
    case 'join':
      void join(cmd);
      break;
    case 'sample': {
      const t = nowMs();
      send({
        type: 'sample',
        samples: participants.map((p) => p.sample(t)),
        skippedFrames: pacer.skippedFrames,
        eventLoopDelayMs: loopDelay.percentile(99) / 1e6,
      });
      loopDelay.reset();
      break;
    }
    case 'fault':
      for (const p of participants) p.fault(cmd.at, cmd.until);
      break;
    case 'loss':
      relay?.setLoss(cmd.loss);
      break;
    case 'report':
      send({ type: 'report', reports: participants.map((p) => p.report(cmd.end)), ...(relay ? { relay: relay.counters } : {}) });
      break;
    case 'close':
      void close();
      break;
  }
});
// The orchestrator went away: do not linger.
process.on('disconnect', () => void close());
send({ type: 'ready' });
