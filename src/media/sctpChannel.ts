/**
 * A message channel on SCTP stream 0 of a transport (an endpoint's WebRtcTransport, a relay's PlainTransport),
 * bridged to Node through the router's DirectTransport: a DataProducer on the transport for
 * what the other side sends on stream 0, a DataConsumer on the transport (its first, hence outbound stream 0) fed by
 * a DataProducer on the DirectTransport for what Node sends. Created before SCTP connects.
 */
import type * as ms from 'mediasoup/types';

/** The channel's Node end. */
export interface SctpChannel {
  /** Write here to send on stream 0 (`send(payload, ppid)`). */
  out: ms.DataProducer;
  /** The outbound stream the transport gave the channel (0 unless the transport had DataConsumers already). */
  outboundStreamId: number | undefined;
}

/**
 * Wire the channel; `onMessage` gets every message the other side sends on stream 0 (payload, PPID).
 * Two worker round trips: both producers, then both consumers.
 * @throws Error from mediasoup (closed transport, SCTP not enabled).
 */
export async function openSctpChannel(
  transport: ms.Transport,
  direct: ms.DirectTransport,
  options: { label: string; protocol: string },
  onMessage: (payload: Buffer, ppid: number) => void,
): Promise<SctpChannel> {
  const [fromRemote, fromNode] = await Promise.all([
    transport.produceData({ sctpStreamParameters: { streamId: 0, ordered: true }, ...options }),
    direct.produceData(options),
  ]);
  const [toNode, toRemote] = await Promise.all([direct.consumeData({ dataProducerId: fromRemote.id }), transport.consumeData({ dataProducerId: fromNode.id })]);
  toNode.on('message', onMessage);
  return { out: fromNode, outboundStreamId: toRemote.sctpStreamParameters?.streamId };
}
