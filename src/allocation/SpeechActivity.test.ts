/**
 * SpeechActivity: endpoints by speech activity, the recent speakers, and the last-N order (video
 * senders first). Ported from JVB `SpeechActivityTest.kt` (ConferenceSpeechActivity): JVB's
 * `endpointsChanged(list)` is our add/remove, `activeSpeakerChanged` is `dominantSpeakerChanged`,
 * `orderedEndpoints` is `lastNOrder(hasVideoAvailable)`.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SpeechActivity } from './SpeechActivity.ts';

describe('SpeechActivity', () => {
  it('Should maintain correct order when everyone has video', () => {
    const sa = new SpeechActivity();
    const all = (): string[] => sa.lastNOrder(() => true);
    for (const id of ['a', 'b', 'c']) sa.add(id);
    expect(all()).toEqual(['a', 'b', 'c']);
    expect(sa.dominant).toBeUndefined();

    sa.dominantSpeakerChanged('b');
    expect(sa.dominant).toBe('b');
    sa.dominantSpeakerChanged('c');
    expect(sa.dominant).toBe('c');
    sa.dominantSpeakerChanged('a');
    expect(sa.dominant).toBe('a');
    expect(all()).toEqual(['a', 'c', 'b']);

    // endpointsChanged([b, c]): a left.
    sa.remove('a');
    expect(all()).toEqual(['c', 'b']);

    sa.dominantSpeakerChanged('c');
    expect(sa.dominant).toBe('c');
    sa.dominantSpeakerChanged('b');
    expect(sa.dominant).toBe('b');

    // endpointsChanged([d, b, c]): d joins, at the end.
    sa.add('d');
    expect(sa.dominant).toBe('b');
    sa.dominantSpeakerChanged('d');
    expect(sa.dominant).toBe('d');
    expect(all()).toEqual(['d', 'b', 'c']);
  });

  it('Should maintain correct order when endpoints disable/enable video', () => {
    const sa = new SpeechActivity();
    const video = new Map<string, boolean>();
    const order = (): string[] => sa.lastNOrder((id) => video.get(id) ?? true);
    for (const id of ['a', 'b', 'c', 'd']) sa.add(id);
    for (const id of ['d', 'c', 'b', 'a']) sa.dominantSpeakerChanged(id);
    expect(order()).toEqual(['a', 'b', 'c', 'd']);

    video.set('a', false);
    expect(sa.dominant).toBe('a');
    expect(order()).toEqual(['b', 'c', 'd', 'a']);

    video.set('a', true);
    expect(order()).toEqual(['a', 'b', 'c', 'd']);

    video.set('b', false);
    expect(order()).toEqual(['a', 'c', 'd', 'b']);

    sa.dominantSpeakerChanged('b');
    expect(sa.dominant).toBe('b');
    expect(order()).toEqual(['a', 'c', 'd', 'b']);

    video.set('b', true);
    expect(order()).toEqual(['b', 'a', 'c', 'd']);

    for (const id of ['a', 'b', 'c', 'd']) video.set(id, false);
    sa.dominantSpeakerChanged('a');
    expect(sa.dominant).toBe('a');
    expect(order()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('add/remove/dominantSpeakerChanged report whether anything changed', () => {
    const sa = new SpeechActivity();
    expect(sa.add('a')).toBe(true);
    expect(sa.add('a')).toBe(false);
    sa.add('b');
    expect(sa.dominantSpeakerChanged('x')).toBe(false); // unknown endpoint: ignored (JVB logs and returns)
    expect(sa.dominantSpeakerChanged('b')).toBe(true);
    expect(sa.dominantSpeakerChanged('b')).toBe(false); // already dominant
    expect(sa.remove('a')).toBe(false); // never spoke: the recent speakers are unchanged
    expect(sa.bySpeech).toEqual(['b']);
    expect(sa.remove('b')).toBe(true);
    expect(sa.dominant).toBeUndefined();
    expect(sa.bySpeech).toEqual([]);
  });

  it('recent speakers: most recent first, at most recent-speakers-count + 1', () => {
    const sa = new SpeechActivity(2);
    for (const id of ['a', 'b', 'c', 'd', 'e']) sa.add(id);
    for (const id of ['a', 'b', 'c', 'd']) sa.dominantSpeakerChanged(id);
    expect(sa.recentSpeakers).toEqual(['d', 'c', 'b']);
    sa.dominantSpeakerChanged('b');
    expect(sa.recentSpeakers).toEqual(['b', 'd', 'c']);
    expect(sa.bySpeech).toEqual(['b', 'd', 'c', 'a', 'e']);
    sa.remove('d');
    expect(sa.recentSpeakers).toEqual(['b', 'c']);
  });

  it('property: bySpeech is a permutation of the endpoints present; the dominant speaker is first of both lists', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const, 'speak' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 0, max: 4 }), (ops, count) => {
        const sa = new SpeechActivity(count);
        const present = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'add') {
            sa.add(o.id);
            present.add(o.id);
          } else if (o.kind === 'remove') {
            sa.remove(o.id);
            present.delete(o.id);
          } else if (sa.dominantSpeakerChanged(o.id)) {
            expect(sa.dominant).toBe(o.id);
            expect(sa.bySpeech[0]).toBe(o.id);
          }
          expect([...sa.bySpeech].sort()).toEqual([...present].sort());
          expect(new Set(sa.recentSpeakers).size).toBe(sa.recentSpeakers.length);
          expect(sa.recentSpeakers.length).toBeLessThanOrEqual(count + 1);
          for (const r of sa.recentSpeakers) expect(present.has(r)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
