import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { clip, RateLimitedLog } from './RateLimitedLog.ts';
import { KeyedRateLimiter, TokenBucket } from './TokenBucket.ts';

describe('TokenBucket', () => {
  it('allows the burst at once, then the rate', () => {
    const b = new TokenBucket(10, 20, 0);
    let n = 0;
    for (let i = 0; i < 100; i++) if (b.take(0)) n += 1;
    expect(n).toBe(20);
    expect(b.waitMs(0)).toBe(100);
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true);
    let later = 0;
    for (let i = 0; i < 100; i++) if (b.take(1100)) later += 1;
    expect(later).toBe(10);
    expect(b.full(10_000)).toBe(true);
  });

  it('never limits at rate 0', () => {
    const b = new TokenBucket(0);
    for (let i = 0; i < 1000; i++) expect(b.take(0)).toBe(true);
    expect(b.waitMs(0)).toBe(0);
  });
});

describe('KeyedRateLimiter', () => {
  it('limits each key on its own and forgets idle keys', () => {
    const l = new KeyedRateLimiter(1, 2);
    expect([l.take('a', 0), l.take('a', 0), l.take('a', 0)]).toEqual([true, true, false]);
    expect(l.take('b', 0)).toBe(true);
    expect(l.size).toBe(2);
    l.take('c', 20_000); // sweeps: a and b are full again
    expect(l.size).toBe(1);
  });

  it('refuses new keys past maxKeys while none is idle', () => {
    const l = new KeyedRateLimiter(1, 1, 2);
    expect(l.take('a', 0)).toBe(true);
    expect(l.take('b', 0)).toBe(true);
    expect(l.take('c', 0)).toBe(false);
    expect(l.take('c', 5000)).toBe(true);
  });
});

describe('RateLimitedLog', () => {
  it('writes a cause once per interval with the count suppressed, and clips strings', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('info', { pretty: false });
    const sink = { ...log, warn: (o: Record<string, unknown>) => lines.push(o) } as unknown as typeof log;
    const limited = new RateLimitedLog(sink, 1000);
    for (let i = 0; i < 5; i++) limited.log('warn', { error: 'x'.repeat(60_000) }, 'bad message', 0);
    limited.log('warn', { error: 'y' }, 'other cause', 0);
    limited.log('warn', { error: 'z' }, 'bad message', 1500);
    expect(lines).toHaveLength(3);
    expect(String(lines[0]?.error).length).toBeLessThan(300);
    expect(lines[2]).toEqual({ error: 'z', suppressed: 4 });
    expect(clip('abc')).toBe('abc');
  });
});
