/**
 * Headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core, with a fake
 * camera and microphone. One browser process per participant,
 * as two real users would have.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that work as root on the test machines, with a fake 30 fps camera. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream=fps=30',
  '--autoplay-policy=no-user-gesture-required',
];

/** A participant: its browser and page. */
export interface BrowserPeer {
  /** The `name` query parameter of the page URL. */
  name: string;
  browser: Browser;
  page: Page;
  /** Console lines of the page (for failure messages). */
  console: string[];
  /** Evaluate an expression in the page (test/helpers/media.ts `PagePeer`). */
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * The codec order of a page whose URL names none (`codec`, `codecs`): VP8 first, as a deployment with
 * `videoQuality.codecPreferenceOrder: ['VP8', 'H264', 'VP9', 'AV1']` in config.js. The page's own default is LJM's
 * desktop order (AV1 first); the codec and layer tests ask for theirs, the others keep two or three real encoders
 * within 2 cores with VP8 simulcast.
 */
export const TEST_CODEC_ORDER = 'VP8,H264,VP9,AV1';

/** `url` with {@link TEST_CODEC_ORDER} when it names no codec. */
function withTestCodecs(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('codec') && !u.searchParams.has('codecs')) u.searchParams.set('codecs', TEST_CODEC_ORDER);
  return u.toString();
}

/** Launch a browser and open `url` in it (with {@link TEST_CODEC_ORDER} when it names no codec). */
export async function openPeer(url: string): Promise<BrowserPeer> {
  return openPeerWith(url);
}

/**
 * {@link openPeer} with another Chromium executable (e.g. a wrapper script that starts it in a
 * network namespace, bench/lib/netns.ts) and extra flags appended to {@link CHROMIUM_ARGS}.
 * Rejects when the browser cannot be launched or `url` cannot be loaded.
 */
export async function openPeerWith(url: string, opts: { executablePath?: string; extraArgs?: string[] } = {}): Promise<BrowserPeer> {
  const browser = await chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
  });
  const page = await browser.newPage();
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  try {
    await page.goto(withTestCodecs(url));
  } catch (err) {
    await browser.close().catch(() => undefined);
    throw err;
  }
  return {
    name: new URL(url).searchParams.get('name') ?? 'peer',
    evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
    browser,
    page,
    console,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}
