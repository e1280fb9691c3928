// @xmpp/component 0.13 ships no typings; the bridge uses it only through ./entity.ts.
declare module '@xmpp/component' {
  export function component(options: { service: string; domain: string; password: string }): unknown;
}
