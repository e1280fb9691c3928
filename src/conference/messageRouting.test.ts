/**
 * Routing of EndpointMessage and EndpointStats between local endpoints and relays (JVB EndpointMessageTransport.java,
 * RelayMessageTransport.kt, Conference.java sendMessage) and JVB Endpoint.wantsStatsFrom.
 */
import { describe, expect, it } from 'vitest';
import { endpointMessageTargets, endpointStatsTargets, wantsStatsFrom, type RoutingView, type StatsFilter } from './messageRouting.ts';

/** Local a1, a2, a3; relay r-b carries b1, b2; relay r-c carries c1. */
const view: RoutingView = {
  localEndpoints: ['a1', 'a2', 'a3'],
  relays: [
    { id: 'r-b', hasEndpoint: (id) => id === 'b1' || id === 'b2' },
    { id: 'r-c', hasEndpoint: (id) => id === 'c1' },
  ],
};

describe('endpointMessageTargets', () => {
  it('from a local endpoint: a broadcast goes to the other local endpoints and every relay', () => {
    expect(endpointMessageTargets(view, { endpoint: 'a1' }, undefined)).toEqual({ endpoints: ['a2', 'a3'], relays: ['r-b', 'r-c'] });
  });

  it('from a local endpoint: to a local endpoint, only it; to an endpoint behind a relay, only that relay', () => {
    expect(endpointMessageTargets(view, { endpoint: 'a1' }, 'a3')).toEqual({ endpoints: ['a3'], relays: [] });
    expect(endpointMessageTargets(view, { endpoint: 'a1' }, 'b2')).toEqual({ endpoints: [], relays: ['r-b'] });
    expect(endpointMessageTargets(view, { endpoint: 'a1' }, 'c1')).toEqual({ endpoints: [], relays: ['r-c'] });
  });

  it('to an endpoint nobody knows: undefined (dropped)', () => {
    expect(endpointMessageTargets(view, { endpoint: 'a1' }, 'zz')).toBeUndefined();
    expect(endpointMessageTargets(view, { relay: 'r-b' }, 'zz')).toBeUndefined();
  });

  it('from a relay: a broadcast goes to every local endpoint and to no relay (one hop, no loop)', () => {
    expect(endpointMessageTargets(view, { relay: 'r-b' }, undefined)).toEqual({ endpoints: ['a1', 'a2', 'a3'], relays: [] });
  });

  it('from a relay: to a local endpoint, only it; to an endpoint behind another relay, nowhere (JVB getLocalEndpoint)', () => {
    expect(endpointMessageTargets(view, { relay: 'r-b' }, 'a2')).toEqual({ endpoints: ['a2'], relays: [] });
    expect(endpointMessageTargets(view, { relay: 'r-b' }, 'c1')).toBeUndefined();
    expect(endpointMessageTargets(view, { relay: 'r-b' }, 'b1')).toBeUndefined();
  });

  it('with no relays, a broadcast stays local', () => {
    expect(endpointMessageTargets({ localEndpoints: ['a1', 'a2'], relays: [] }, { endpoint: 'a2' }, undefined)).toEqual({ endpoints: ['a1'], relays: [] });
  });
});

describe('endpointStatsTargets', () => {
  it('from a local endpoint: the other local endpoints that want them, and every relay', () => {
    expect(endpointStatsTargets(view, { endpoint: 'a1' }, 'a1', () => true)).toEqual({ endpoints: ['a2', 'a3'], relays: ['r-b', 'r-c'] });
    expect(endpointStatsTargets(view, { endpoint: 'a1' }, 'a1', (r) => r === 'a3')).toEqual({ endpoints: ['a3'], relays: ['r-b', 'r-c'] });
  });

  it('from a relay: the local endpoints that want them, no relay', () => {
    expect(endpointStatsTargets(view, { relay: 'r-c' }, 'c1', () => true)).toEqual({ endpoints: ['a1', 'a2', 'a3'], relays: [] });
    expect(endpointStatsTargets(view, { relay: 'r-c' }, 'c1', (r) => r !== 'a1')).toEqual({ endpoints: ['a2', 'a3'], relays: [] });
  });

  it('never back to the sender', () => {
    expect(endpointStatsTargets(view, { relay: 'r-c' }, 'a2', () => true).endpoints).toEqual(['a1', 'a3']);
  });
});

describe('wantsStatsFrom (JVB Endpoint.wantsStatsFrom)', () => {
  const filter = (f: Partial<StatsFilter>): StatsFilter => ({
    conferenceSize: 21,
    threshold: 20,
    senderIsRecentSpeaker: () => false,
    senderIsRankedSpeaker: () => false,
    receiverWantsVideo: () => false,
    ...f,
  });

  it('at or below the threshold, always', () => {
    expect(wantsStatsFrom(filter({ conferenceSize: 20 }), 'r')).toBe(true);
    expect(wantsStatsFrom(filter({ conferenceSize: 2, threshold: 2 }), 'r')).toBe(true);
  });

  it('above it: only for a recent or ranked speaker, or a sender whose video the receiver wants', () => {
    expect(wantsStatsFrom(filter({}), 'r')).toBe(false);
    expect(wantsStatsFrom(filter({ senderIsRecentSpeaker: () => true }), 'r')).toBe(true);
    expect(wantsStatsFrom(filter({ senderIsRankedSpeaker: () => true }), 'r')).toBe(true);
    expect(wantsStatsFrom(filter({ receiverWantsVideo: (r) => r === 'r' }), 'r')).toBe(true);
    expect(wantsStatsFrom(filter({ receiverWantsVideo: (r) => r === 'r' }), 'other')).toBe(false);
    expect(wantsStatsFrom(filter({ threshold: 0, conferenceSize: 1 }), 'r')).toBe(false);
  });

  it('looks no further than it must (the size first, then the sender, then the receiver)', () => {
    const never = (): boolean => {
      throw new Error('not to be asked');
    };
    expect(wantsStatsFrom(filter({ conferenceSize: 5, senderIsRecentSpeaker: never, senderIsRankedSpeaker: never, receiverWantsVideo: never }), 'r')).toBe(
      true,
    );
    expect(wantsStatsFrom(filter({ senderIsRecentSpeaker: () => true, receiverWantsVideo: never }), 'r')).toBe(true);
  });
});
