/**
 * The endpoint's video type cache (JVB `AbstractEndpoint` `videoTypeCache`): a type announced for a source not
 * signalled yet is kept until the source appears, taken once, and the cache is bounded.
 */
import { describe, expect, it } from 'vitest';
import type { BridgeChannel } from '../channel/BridgeChannel.ts';
import type { MediaEndpoint } from '../media/MediaEndpoint.ts';
import { Endpoint, VIDEO_TYPE_CACHE_SIZE } from './Endpoint.ts';

function endpoint(): Endpoint {
  return new Endpoint({ id: 'e1', capabilities: [], media: [], sctp: false }, {} as MediaEndpoint, {} as BridgeChannel);
}

describe('Endpoint video type cache', () => {
  it('keeps the latest type of a source until it is taken, once', () => {
    const e = endpoint();
    e.cacheVideoType('e1-v0', 'CAMERA');
    e.cacheVideoType('e1-v0', 'DESKTOP');
    expect(e.takeVideoType('e1-v0')).toBe('DESKTOP');
    expect(e.takeVideoType('e1-v0')).toBeUndefined();
    expect(e.takeVideoType('e1-v1')).toBeUndefined();
  });

  it(`holds at most ${VIDEO_TYPE_CACHE_SIZE} sources, forgetting the oldest`, () => {
    const e = endpoint();
    for (let i = 0; i <= VIDEO_TYPE_CACHE_SIZE; i++) e.cacheVideoType(`e1-v${i}`, 'DESKTOP');
    expect(e.takeVideoType('e1-v0')).toBeUndefined();
    expect(e.takeVideoType('e1-v1')).toBe('DESKTOP');
    expect(e.takeVideoType(`e1-v${VIDEO_TYPE_CACHE_SIZE}`)).toBe('DESKTOP');
  });
});
