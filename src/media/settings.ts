/**
 * The media layer's settings: the `media` section of the configuration (config/config.ts reads them from jvb.conf
 * and the environment; the README's Configuration section lists each key).
 */
export interface MediaSettings {
  /** mediasoup-worker binary; default `native/out/mediasoup-worker`. */
  workerBin: string;
  /** mediasoup workers; default one per core (`os.availableParallelism()`). */
  numWorkers: number;
  /**
   * A conference's consumers on one worker before its new endpoints go to another worker
   * (media then crosses with pipeToRouter); default 500, mediasoup's guidance for one worker.
   */
  conferenceWorkerConsumers: number;
  logLevel: 'debug' | 'warn' | 'error' | 'none';
  /** `videobridge.ice.udp.port` / JVB_PORT: the UDP media port of the first worker (worker i: + i). */
  udpPort: number;
  /** Address the WebRtcServer binds to. */
  listenIp: string;
  /** The public addresses of the `ice.staticMappings` setting, put in ICE candidates instead of the listen address. */
  advertiseIps: string[];
  /** `videobridge.ice.tcp`: ICE-TCP candidate (JVB's old 4443 fallback), off by default. */
  iceTcp: { enabled: boolean; port: number };
  /** `videobridge.entity-expiration.timeout`, ms: no ICE consent / no channel for this long → expire. */
  endpointExpireMs: number;
  /**
   * mediasoup WebRtcTransport initialAvailableOutgoingBitrate, bps: where each receiver's
   * estimate starts (`jmt.bwe.estimator.initial-bw`, 2.5 Mbps as in JVB).
   */
  initialOutgoingBitrateBps: number;
}
