/**
 * Thousands of mutated conference-modify IQs (built from Jicofo's requests, bench/lib/jicofo.ts)
 * through the bridge's IQ handler and a real bridge on a real mediasoup worker: each gets a
 * `conference-modified` or an error element, nothing throws, and a refused request leaves
 * nothing behind (no half-made conference, no endpoint added or removed).
 */
import fc from 'fast-check';
import xml, { type Element } from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBridge } from '../bridge.ts';
import { createLogger } from '../logger.ts';
import { allocate, expireEndpoints, sessionAccept } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { handleConferenceModify } from './BreweryConnection.ts';
import { serializeConferenceModify } from '../colibri2/xml.ts';

const MEETINGS = ['m-one', 'm-two', 'm-three'];
const ENDPOINTS = ['e1', 'e2', 'e3'];
let bridge: RunningBridge;
const log = createLogger('silent', { pretty: false });

beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0' });
});
afterAll(async () => {
  await bridge?.close();
});

/** Jicofo's requests for the small pool of meetings and endpoints. */
const request = fc.oneof(
  fc.record({ m: fc.constantFrom(...MEETINGS), e: fc.constantFrom(...ENDPOINTS), create: fc.boolean() }).map(({ m, e, create }) => allocate(m, e, create)),
  fc
    .record({ m: fc.constantFrom(...MEETINGS), e: fc.constantFrom(...ENDPOINTS), base: fc.integer({ min: 1, max: 5 }) })
    .map(({ m, e, base }) => sessionAccept(m, e, base * 100)),
  fc.record({ m: fc.constantFrom(...MEETINGS), ids: fc.subarray(ENDPOINTS, { minLength: 1 }) }).map(({ m, ids }) => expireEndpoints(m, ids)),
  fc.constantFrom(...MEETINGS).map((m) => ({ meetingId: m, expire: true, endpoints: [] })),
);

/** A random path to an element in the tree (by child indexes). */
function elements(root: Element): Element[] {
  const out: Element[] = [root];
  for (const c of root.getChildElements()) out.push(...elements(c));
  return out;
}

/** Element names a rename picks (well-formed: an XMPP server only routes well-formed XML). */
const NAMES = ['renamed', 'endpoint', 'source', 'transport', 'media', 'sources', 'media-source', 'ssrc-group', 'fingerprint'];

function copy(el: Element): Element {
  return xml(el.name, { ...el.attrs }, ...el.children.map((c) => (typeof c === 'string' ? c : copy(c))));
}

/** One mutation: drop / junk an attribute, remove / duplicate / rename a child, change a namespace. */
const mutation = fc.record({
  kind: fc.constantFrom('dropAttr', 'junkAttr', 'removeChild', 'duplicateChild', 'rename', 'namespace', 'none'),
  pick: fc.nat(),
  junk: fc.constantFrom('', 'x', '-1', '4294967296', 'TRUE', 'nan', '99999999999999999999', ' ', '<>', '1e3'),
});

function mutate(root: Element, m: { kind: string; pick: number; junk: string }): void {
  const all = elements(root);
  const el = all[m.pick % all.length]!;
  const attrs = Object.keys(el.attrs);
  const children = el.getChildElements();
  switch (m.kind) {
    case 'dropAttr':
      if (attrs.length) delete el.attrs[attrs[m.pick % attrs.length]!];
      break;
    case 'junkAttr':
      if (attrs.length) el.attrs[attrs[m.pick % attrs.length]!] = m.junk;
      break;
    case 'removeChild':
      if (children.length) el.remove(children[m.pick % children.length]!);
      break;
    case 'duplicateChild':
      if (children.length) el.append(copy(children[m.pick % children.length]!));
      break;
    case 'rename':
      if (el !== root) el.name = NAMES[m.pick % NAMES.length]!;
      break;
    case 'namespace':
      el.attrs.xmlns = m.junk || 'urn:other';
      break;
  }
}

interface Snapshot {
  [meetingId: string]: string[];
}

function snapshot(): Snapshot {
  const out: Snapshot = {};
  for (const m of MEETINGS) {
    const c = bridge.videobridge.conferenceByMeetingId(m);
    if (c)
      out[m] = c
        .endpoints()
        .map((e) => e.id)
        .sort();
  }
  return out;
}

describe('conference-modify handler under mutation', () => {
  it('answers every mutated request, and a refusal changes nothing', async () => {
    let answered = 0;
    let refused = 0;
    const emptyByRequest = new Set<string>();
    await fc.assert(
      fc.asyncProperty(request, fc.array(mutation, { maxLength: 4 }), async (req, mutations) => {
        const el = serializeConferenceModify(req);
        for (const m of mutations) mutate(el, m);
        const before = snapshot();
        const reply = await handleConferenceModify(el, bridge.videobridge, log);
        if (reply.name === 'conference-modified') {
          answered += 1;
          // A create that names no endpoint makes an empty conference, as in JVB (it expires when idle).
          for (const [m, eps] of Object.entries(snapshot())) if (eps.length === 0) emptyByRequest.add(m);
          return;
        }
        expect(reply.name).toBe('error');
        refused += 1;
        expect(snapshot()).toEqual(before);
      }),
      { numRuns: 2000 },
    );
    expect(answered).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
    // No half-made conference: an empty one exists only because an accepted request made it so.
    for (const c of bridge.videobridge.conferences()) {
      if (c.endpointCount === 0) expect(emptyByRequest.has(c.meetingId)).toBe(true);
    }
  }, 120_000);
});
