/**
 * BridgeChannel as a relay's channel: messages from the other bridge are parsed and counted as an endpoint's, with
 * the relay's size limit and no rate limit, and sent on the stream. (The endpoint transports are tested end to end:
 * SCTP in test/e2e, colibri-ws in src/http/colibri-ws.test.ts; relays in src/conference/relayMessages.test.ts.)
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { BridgeChannel, type RelayStream } from './BridgeChannel.ts';
import type { BridgeChannelMessage } from './messages.ts';

class Stream extends EventEmitter<{ message: [string] }> implements RelayStream {
  open = true;
  readonly sent: string[] = [];
  send(text: string): void {
    this.sent.push(text);
  }
}

describe('BridgeChannel on a relay stream', () => {
  it('parses, counts and sends like an endpoint channel, with its own size limit and no rate limit', () => {
    const stream = new Stream();
    const channel = new BridgeChannel('relay/r1', createLogger('silent', { pretty: false }), { maxMessageBytes: 2000 });
    channel.attachRelay(stream);
    const got: BridgeChannelMessage[] = [];
    channel.on('message', (m) => got.push(m));
    const add = JSON.stringify({ colibriClass: 'AddReceiver', bridgeId: 'b', sourceName: 'a-v0', videoConstraints: { maxHeight: 180 } });
    for (let i = 0; i < 500; i++) stream.emit('message', add);
    stream.emit('message', '{"colibriClass":');
    stream.emit('message', JSON.stringify({ colibriClass: 'EndpointMessage', to: '', from: 'x', pad: 'y'.repeat(3000) }));
    stream.emit('message', JSON.stringify({ colibriClass: 'SomethingNew' }));
    expect(got).toHaveLength(500);
    expect(got[0]).toMatchObject({ colibriClass: 'AddReceiver', sourceName: 'a-v0' });
    expect(channel.counters).toMatchObject({ received: 501, sctpReceived: 501, malformed: 2, unknown: 1, rateLimited: 0 });
    expect(channel.isOpen).toBe(true);
    expect(channel.send({ colibriClass: 'RemoveReceiver', bridgeId: 'b', endpointId: 'a' })).toBe(true);
    expect(stream.sent.map((t) => JSON.parse(t) as unknown)).toEqual([{ colibriClass: 'RemoveReceiver', bridgeId: 'b', endpointId: 'a' }]);
    channel.close();
    stream.emit('message', add);
    expect(got).toHaveLength(500);
  });
});
