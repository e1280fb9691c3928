/**
 * The standalone page's files (src/focus/page/) and sdp-transform as a browser ES module.
 * sdp-transform ships CommonJS only; {@link sdpTransformModule} wraps its four files in a
 * minimal CommonJS loader so the page can `import sdpTransform from 'sdp-transform'` through
 * an import map, without a bundler.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PROJECT_ROOT } from '../util/paths.ts';

/** A file ready to serve. */
export interface StaticFile {
  body: Buffer;
  type: string;
}

const PAGE_DIR = path.join(PROJECT_ROOT, 'src', 'focus', 'page');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** sdp-transform's lib/ files wrapped as one ES module whose default export is the library. */
export function sdpTransformModule(): string {
  const require = createRequire(import.meta.url);
  const libDir = path.dirname(require.resolve('sdp-transform'));
  const defs = ['index', 'grammar', 'parser', 'writer']
    .map((name) => `'./${name}': function (module, exports, require) {\n${readFileSync(path.join(libDir, `${name}.js`), 'utf8')}\n}`)
    .join(',\n');
  return `// sdp-transform (MIT, Eirik Albrigtsen), CommonJS wrapped for the browser by octobridge.
const defs = {\n${defs}\n};
const cache = {};
function req(name) {
  const key = name.replace(/\\.js$/, '');
  if (cache[key]) return cache[key].exports;
  const module = { exports: {} };
  cache[key] = module;
  defs[key](module, module.exports, req);
  return module.exports;
}
export default req('./index');
`;
}

/** Load the page files once: a map from URL path (`/page/app.js`) to file. */
export function loadPageFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of ['index.html', 'app.js', 'sdp.js', 'svc.js', 'codecSelection.js', 'style.css']) {
    const ext = path.extname(name);
    files.set(`/page/${name}`, { body: readFileSync(path.join(PAGE_DIR, name)), type: TYPES[ext] ?? 'application/octet-stream' });
  }
  files.set('/lib/sdp-transform.js', { body: Buffer.from(sdpTransformModule()), type: TYPES['.js'] ?? '' });
  return files;
}
