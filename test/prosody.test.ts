/**
 * Proves the Prosody harness (bench/lib/prosody.ts) against what octobridge needs from a real
 * XMPP server: c2s login on the auth domain, the brewery MUC with `<stats>` presence, colibri2-style
 * IQs between occupants' MUC JIDs, an XEP-0114 component, restart with a reconnecting client, and a
 * clean stop.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProsody, type Prosody } from '../bench/lib/prosody.ts';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_COLIBRI = 'http://jitsi.org/protocol/colibri';
const NS_COLIBRI2 = 'jitsi:colibri2';
const NS_HEALTH = 'http://jitsi.org/protocol/healthcheck';

/** The bits of @xmpp/component 0.13 (CommonJS, no types) used here. */
interface XmppComponent {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  on(event: 'online', cb: (jid: { toString(): string }) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
}
const { component } = createRequire(import.meta.url)('@xmpp/component') as {
  component(opts: { service: string; domain: string; password: string }): XmppComponent;
};

let prosody: Prosody;
/** Clients of the current test, stopped after it. */
let clients: Client[] = [];

beforeAll(async () => {
  prosody = await startProsody();
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  clients = [];
});

afterAll(async () => {
  await prosody?.stop();
});

/** Log in as `username` on the auth domain (unless `host`), wait until online. */
async function login(username: string, resource: string, host = prosody.authDomain): Promise<Client> {
  const c = client({
    service: prosody.c2sService,
    domain: host,
    username,
    password: prosody.account(username, host).password,
    resource,
  });
  c.on('error', () => undefined); // stream errors (e.g. system-shutdown on restart) are expected
  clients.push(c);
  await c.start();
  return c;
}

/** Resolve with the first stanza matching `pred`, reject after `ms`. */
function nextStanza(c: Client, pred: (s: Element) => boolean, ms = 5000): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.removeListener('stanza', onStanza);
      reject(new Error(`no matching stanza within ${ms} ms`));
    }, ms);
    function onStanza(s: Element): void {
      if (!pred(s)) return;
      clearTimeout(timer);
      c.removeListener('stanza', onStanza);
      resolve(s);
    }
    c.on('stanza', onStanza);
  });
}

/** Join the brewery as `nick` (optionally with more presence children); resolve with the self-presence. */
async function joinBrewery(c: Client, nick: string, ...children: Element[]): Promise<Element> {
  const occupant = `${prosody.breweryJid}/${nick}`;
  const self = nextStanza(c, (s) => s.is('presence') && s.attrs.from === occupant && (s.attrs.type === 'error' || isSelfPresence(s)));
  await c.send(xml('presence', { to: occupant }, xml('x', { xmlns: NS_MUC }), ...children));
  return self;
}

function isSelfPresence(s: Element): boolean {
  const x = s.getChild('x', NS_MUC_USER);
  return !!x?.getChildren('status').some((st) => st.attrs.code === '110');
}

function stats(values: Record<string, string>): Element {
  return xml('stats', { xmlns: NS_COLIBRI }, ...Object.entries(values).map(([name, value]) => xml('stat', { name, value })));
}

/** Pids of processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe('Prosody test harness', () => {
  it('runs Prosody as the prosody user on loopback ports with the accounts registered', () => {
    expect(prosody.host).toBe('127.0.0.1');
    expect(new Set([prosody.c2sPort, prosody.componentPort, prosody.httpPort]).size).toBe(3);
    expect(prosody.accounts.map((a) => a.jid)).toEqual(['jvb@auth.meet.test', 'focus@auth.meet.test']);
    const status = readFileSync(`/proc/${prosody.pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (process.getuid?.() === 0) expect(uid).not.toBe(0);
    expect(prosody.logs()).toMatch(/Activated service 'c2s' on \[127\.0\.0\.1\]:\d+/);
    expect(prosody.logs()).toMatch(/Activated service 'http' on \[127\.0\.0\.1\]:\d+/);
  });

  it('brewery: a bridge joining with <stats> is seen by the focus', async () => {
    const focus = await login('focus', 'focus1');
    const self = await joinBrewery(focus, 'focus');
    expect(self.attrs.type).toBeUndefined();

    const jvb = await login('jvb', 'jvb1');
    const seen = nextStanza(focus, (s) => s.is('presence') && s.attrs.from === `${prosody.breweryJid}/jvb-1`);
    const jvbSelf = await joinBrewery(jvb, 'jvb-1', stats({ drain: 'false', stress_level: '0.1' }));
    expect(jvbSelf.attrs.type).toBeUndefined();

    const p = await seen;
    const st = p.getChild('stats', NS_COLIBRI);
    expect(st).toBeDefined();
    const drain = st?.getChildren('stat').find((s) => s.attrs.name === 'drain');
    expect(drain?.attrs.value).toBe('false');
    // muc_room_default_public_jids: every occupant sees the real JID (Jicofo does not need it).
    const item = p.getChild('x', NS_MUC_USER)?.getChild('item');
    expect(item?.attrs.jid).toBe('jvb@auth.meet.test/jvb1');

    // A later presence update (no <x xmlns=muc>) is broadcast as well: the 5 s stats republish.
    const update = nextStanza(
      focus,
      (s) =>
        s.is('presence') &&
        s.attrs.from === `${prosody.breweryJid}/jvb-1` &&
        !!s
          .getChild('stats', NS_COLIBRI)
          ?.getChildren('stat')
          .some((x) => x.attrs.name === 'drain' && x.attrs.value === 'true'),
    );
    await jvb.send(xml('presence', { to: `${prosody.breweryJid}/jvb-1` }, stats({ drain: 'true' })));
    await update;
  });

  it('routes IQs between occupants’ MUC JIDs and their results back (colibri2 path)', async () => {
    const focus = await login('focus', 'focus2');
    await joinBrewery(focus, 'focus2');
    const jvb = await login('jvb', 'jvb2');
    await joinBrewery(jvb, 'jvb-2', stats({ drain: 'false' }));

    const received: Element[] = [];
    jvb.iqCallee.get(NS_HEALTH, 'healthcheck', ({ stanza }: { stanza: Element }) => {
      received.push(stanza);
      return true; // empty result
    });
    jvb.iqCallee.set(NS_COLIBRI2, 'conference-modify', ({ stanza }: { stanza: Element }) => {
      received.push(stanza);
      return xml('conference-modify-ack', { xmlns: NS_COLIBRI2 });
    });

    const bridge = `${prosody.breweryJid}/jvb-2`;
    const result = await focus.iqCaller.request(xml('iq', { type: 'get', to: bridge, id: 'hc-1' }, xml('healthcheck', { xmlns: NS_HEALTH })), 5000);
    expect(result.attrs.type).toBe('result');
    expect(result.attrs.id).toBe('hc-1'); // Prosody restores the id it rewrote
    expect(result.attrs.from).toBe(bridge);

    const hc = received[0];
    expect(hc?.attrs.from).toBe(`${prosody.breweryJid}/focus2`); // the focus's occupant JID, not its real JID
    expect(hc?.attrs.to).toBe('jvb@auth.meet.test/jvb2'); // delivered to the bridge's real full JID
    expect(hc?.attrs.id).not.toBe('hc-1'); // base64(real-jid \0 id \0 hmac): opaque, echo it unchanged

    const ack = await focus.iqCaller.request(
      xml(
        'iq',
        { type: 'set', to: bridge },
        xml('conference-modify', { xmlns: NS_COLIBRI2, 'meeting-id': 'm-1', name: 'room@conference.meet.test', create: 'true' }),
      ),
      5000,
    );
    expect(ack.getChild('conference-modify-ack', NS_COLIBRI2)).toBeDefined();

    // An unhandled IQ: the bridge's error comes back through the MUC the same way.
    await expect(focus.iqCaller.request(xml('iq', { type: 'get', to: bridge }, xml('query', { xmlns: 'urn:test:nothing' })), 5000)).rejects.toMatchObject({
      condition: 'service-unavailable',
    });
    // An IQ to a nick that is not in the room: the room itself answers item-not-found.
    await expect(
      focus.iqCaller.request(xml('iq', { type: 'get', to: `${prosody.breweryJid}/nobody` }, xml('healthcheck', { xmlns: NS_HEALTH })), 5000),
    ).rejects.toMatchObject({ condition: 'item-not-found' });
  });

  it('nicks: same account + same nick merges into one occupant; another account gets conflict', async () => {
    const a = await login('jvb', 'dup-a');
    expect((await joinBrewery(a, 'jvb-dup')).attrs.type).toBeUndefined();
    const b = await login('jvb', 'dup-b');
    expect((await joinBrewery(b, 'jvb-dup')).attrs.type).toBeUndefined(); // no conflict: multi-session

    await prosody.register('jvb2');
    const other = await login('jvb2', 'x');
    const denied = await joinBrewery(other, 'jvb-dup');
    expect(denied.attrs.type).toBe('error');
    expect(denied.getChild('error')?.getChild('conflict')).toBeDefined();
  });

  it('accepts an XEP-0114 component with the secret', async () => {
    const comp = component({ service: prosody.componentService, domain: prosody.componentDomain, password: prosody.componentSecret });
    comp.on('error', () => undefined);
    const online = new Promise<string>((resolve) => comp.on('online', (jid) => resolve(jid.toString())));
    await comp.start();
    expect(await online).toBe('jvb.meet.test');
    await comp.stop();
  });

  it('restart(): same ports and accounts, a reconnecting client comes back', async () => {
    const c = await login('focus', 'reconnect');
    const { c2sPort, componentPort, pid } = prosody;
    const back = new Promise<void>((resolve) => c.once('online', () => resolve()));

    await prosody.restart();
    expect(prosody.pid).not.toBe(pid);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect([prosody.c2sPort, prosody.componentPort]).toEqual([c2sPort, componentPort]);

    await back; // @xmpp/client reconnects 1 s after the disconnect
    // The brewery (memory storage) is gone; the first join re-creates it.
    expect((await joinBrewery(c, 'after-restart')).attrs.type).toBeUndefined();
  });

  it('runs several instances at once; stop() kills Prosody and removes its dir', async () => {
    const second = await startProsody({ accounts: [{ username: 'alice', host: 'meet.test', password: 'alicepass' }] });
    const { pid, dir, configPath } = second;
    try {
      expect([second.c2sPort, second.componentPort]).not.toContain(prosody.c2sPort);
      expect(second.account('alice', 'meet.test').password).toBe('alicepass');
      expect(processesMentioning(configPath)).toEqual([pid]);
    } finally {
      await second.stop();
    }
    expect(second.pid).toBe(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(processesMentioning(configPath)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    await second.stop(); // idempotent

    const main = { pid: prosody.pid, configPath: prosody.configPath };
    await prosody.stop();
    expect(existsSync(`/proc/${main.pid}`)).toBe(false);
    expect(processesMentioning(main.configPath)).toEqual([]);
  });
});
