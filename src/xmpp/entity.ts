/**
 * The small part of xmpp.js (@xmpp/client 0.14, @xmpp/component 0.13) the bridge uses, typed
 * once here, so the rest of src/xmpp/ does not depend on either package's typings.
 */
import type { Element } from '@xmpp/xml';

/** Context given to an iq-callee handler: the request stanza and its single child element. */
export interface IqContext {
  stanza: Element;
  element: Element;
  from?: string;
}

/** Returns the result child, `true` for an empty result, or an `<error>` element. */
export type IqHandler = (ctx: IqContext) => Promise<Element | boolean | undefined> | Element | boolean | undefined;

/** A connected XMPP entity: a c2s client or an XEP-0114 component. */
export interface XmppEntity {
  on(event: 'online', listener: (address: { toString(): string }) => void): unknown;
  on(event: 'offline' | 'disconnect', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'status', listener: (status: string) => void): unknown;
  on(event: 'stanza', listener: (stanza: Element) => void): unknown;
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  send(element: Element): Promise<unknown>;
  status: string;
  iqCallee: { get(ns: string, name: string, handler: IqHandler): void; set(ns: string, name: string, handler: IqHandler): void };
  reconnect: { delay: number; on(event: 'reconnecting' | 'reconnected', listener: () => void): unknown; scheduleReconnect(): void };
}
