// @pushcorn/hocon-parser 1.3 ships no typings; only src/config/config.ts uses it.
declare module '@pushcorn/hocon-parser' {
  /** Parse HOCON from `text`, or from the file or URL `url` (includes resolve relative to it). */
  function parse(opts: { url?: string; text?: string; strict?: boolean; env?: boolean }): Promise<unknown>;
  export default parse;
}
