/**
 * Parsing of page → focus messages (src/focus/protocol.ts) at the edge: untrusted JSON becomes a
 * typed {@link PageMessage} or an error string naming the bad field. Never throws.
 */
import type { Fingerprint, IceCandidate, SsrcGroup } from '../colibri2/types.ts';
import type { JingleContent, JingleSession, JingleSource, PageMessage } from './protocol.ts';

/** Largest accepted page message, bytes. */
export const MAX_PAGE_MESSAGE_BYTES = 64 * 1024;

class Invalid extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Invalid(`${where} must be an object`);
  return v as Obj;
}
function arr(v: unknown, where: string, max = 64): unknown[] {
  if (!Array.isArray(v)) throw new Invalid(`${where} must be an array`);
  if (v.length > max) throw new Invalid(`${where} has more than ${max} items`);
  return v;
}
function str(v: unknown, where: string, max = 256): string {
  if (typeof v !== 'string') throw new Invalid(`${where} must be a string`);
  if (v.length > max) throw new Invalid(`${where} is longer than ${max}`);
  return v;
}
function optStr(v: unknown, where: string, max = 256): string | undefined {
  return v === undefined ? undefined : str(v, where, max);
}
function uint(v: unknown, where: string, max = 2 ** 32 - 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Invalid(`${where} must be an integer 0..${max}`);
  return v;
}

function fingerprint(v: unknown, where: string): Fingerprint {
  const o = obj(v, where);
  const setup = optStr(o.setup, `${where}.setup`);
  if (setup !== undefined && setup !== 'active' && setup !== 'passive' && setup !== 'actpass') throw new Invalid(`${where}.setup is invalid`);
  return { hash: str(o.hash, `${where}.hash`, 16), value: str(o.value, `${where}.value`, 200), ...(setup ? { setup } : {}) };
}

function candidate(v: unknown, where: string): IceCandidate {
  const o = obj(v, where);
  const protocol = str(o.protocol, `${where}.protocol`, 8);
  const type = str(o.type, `${where}.type`, 8);
  if (protocol !== 'udp' && protocol !== 'tcp') throw new Invalid(`${where}.protocol is invalid`);
  if (!['host', 'srflx', 'prflx', 'relay'].includes(type)) throw new Invalid(`${where}.type is invalid`);
  return {
    component: uint(o.component, `${where}.component`, 2),
    foundation: str(o.foundation, `${where}.foundation`, 64),
    generation: uint(o.generation ?? 0, `${where}.generation`, 255),
    id: str(o.id ?? '', `${where}.id`, 64),
    network: uint(o.network ?? 0, `${where}.network`, 255),
    priority: uint(o.priority, `${where}.priority`),
    protocol,
    type: type as IceCandidate['type'],
    ip: str(o.ip, `${where}.ip`, 64),
    port: uint(o.port, `${where}.port`, 65535),
  };
}

function source(v: unknown, where: string): JingleSource {
  const o = obj(v, where);
  const name = optStr(o.name, `${where}.name`, 128);
  const videoType = optStr(o.videoType, `${where}.videoType`, 32);
  const msid = optStr(o.msid, `${where}.msid`, 256);
  return { ssrc: uint(o.ssrc, `${where}.ssrc`), ...(name ? { name } : {}), ...(videoType ? { videoType } : {}), ...(msid ? { msid } : {}) };
}

function ssrcGroup(v: unknown, where: string): SsrcGroup {
  const o = obj(v, where);
  const semantics = str(o.semantics, `${where}.semantics`, 8);
  if (semantics !== 'SIM' && semantics !== 'FID' && semantics !== 'FEC-FR') throw new Invalid(`${where}.semantics is invalid`);
  return { semantics, ssrcs: arr(o.ssrcs, `${where}.ssrcs`, 8).map((s, i) => uint(s, `${where}.ssrcs[${i}]`)) };
}

function content(v: unknown, where: string): JingleContent {
  const o = obj(v, where);
  const d = obj(o.description, `${where}.description`);
  const t = obj(o.transport, `${where}.transport`);
  const media = str(d.media, `${where}.description.media`, 16);
  if (media !== 'audio' && media !== 'video' && media !== 'application') throw new Invalid(`${where}.description.media is invalid`);
  return {
    name: str(o.name, `${where}.name`, 32),
    creator: o.creator === 'initiator' ? 'initiator' : 'responder',
    senders: 'both',
    description: {
      media,
      payloadTypes: [],
      rtpHdrExts: [],
      sources: arr(d.sources ?? [], `${where}.description.sources`).map((s, i) => source(s, `${where}.description.sources[${i}]`)),
      ssrcGroups: arr(d.ssrcGroups ?? [], `${where}.description.ssrcGroups`).map((g, i) => ssrcGroup(g, `${where}.description.ssrcGroups[${i}]`)),
    },
    transport: {
      ufrag: str(t.ufrag, `${where}.transport.ufrag`, 256),
      pwd: str(t.pwd, `${where}.transport.pwd`, 256),
      candidates: arr(t.candidates ?? [], `${where}.transport.candidates`).map((c, i) => candidate(c, `${where}.transport.candidates[${i}]`)),
      fingerprints: arr(t.fingerprints ?? [], `${where}.transport.fingerprints`, 4).map((f, i) => fingerprint(f, `${where}.transport.fingerprints[${i}]`)),
    },
  };
}

/** A codec name of a presence `codecList` (LJM `CodecMimeType`, lower case). */
function codecName(v: unknown, where: string): string {
  const name = str(v, where, 8);
  if (!/^[a-z0-9]+$/.test(name)) throw new Invalid(`${where}: lower-case letters and digits only`);
  return name;
}

function jingle(v: unknown): JingleSession {
  const o = obj(v, 'jingle');
  return { contents: arr(o.contents, 'jingle.contents', 16).map((c, i) => content(c, `jingle.contents[${i}]`)), groups: [] };
}

/** Parse one page → focus message. */
export function parsePageMessage(text: string): { ok: true; message: PageMessage } | { ok: false; error: string } {
  if (text.length > MAX_PAGE_MESSAGE_BYTES) return { ok: false, error: `message larger than ${MAX_PAGE_MESSAGE_BYTES} bytes` };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, error: 'invalid JSON' };
  }
  try {
    const o = obj(v, 'message');
    switch (o.type) {
      case 'join': {
        const displayName = str(o.displayName ?? '', 'displayName', 64).trim();
        const region = o.region === undefined ? undefined : str(o.region, 'region', 64).trim();
        if (region !== undefined && region !== '' && !/^[A-Za-z0-9_.-]+$/.test(region)) throw new Invalid('region: letters, digits and _.- only');
        const codecList = o.codecList === undefined ? [] : arr(o.codecList, 'codecList', 8).map((c, i) => codecName(c, `codecList[${i}]`));
        if (o.ssrcRewriting !== undefined && typeof o.ssrcRewriting !== 'boolean') throw new Invalid('ssrcRewriting must be a boolean');
        const noRewriting = o.ssrcRewriting === false ? { ssrcRewriting: false as const } : {};
        return { ok: true, message: { type: 'join', displayName, ...(region ? { region } : {}), ...(codecList.length ? { codecList } : {}), ...noRewriting } };
      }
      case 'session-accept':
      case 'source-update':
        return { ok: true, message: { type: o.type, jingle: jingle(o.jingle) } };
      case 'session-terminate': {
        if (o.restart !== undefined && typeof o.restart !== 'boolean') throw new Invalid('restart must be a boolean');
        return { ok: true, message: { type: 'session-terminate', reason: str(o.reason ?? '', 'reason', 64), restart: o.restart === true } };
      }
      default:
        return { ok: false, error: `unknown message type ${JSON.stringify(o.type)}` };
    }
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}
