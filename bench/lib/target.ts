/**
 * What the forwarding benchmark needs from a forwarding target (octobridge, or the raw mediasoup
 * baseline): connect synthetic clients, name its worker processes, shut down.
 */
import type { BenchClient } from './client.ts';

export interface Target {
  readonly name: string;
  /** Negotiate a sending client and wait until its transport is up. */
  addSender(client: BenchClient): Promise<void>;
  /** Negotiate a receiving client, wait until its transport (and, for octobridge, its bridge channel) is up. */
  addReceiver(client: BenchClient): Promise<void>;
  /** Pids of the mediasoup worker processes serving the conference (one per core used). */
  workerPids(): number[];
  /** Where the endpoints ended up, when the target can tell (e.g. `8+4 transports`). */
  placement(): Promise<string | undefined>;
  close(): Promise<void>;
}
