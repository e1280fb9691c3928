/**
 * Headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core, with a fake
 * camera and microphone (shared/docs/test-peers.md §2). One browser process per participant,
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

/** Launch a browser and open `url` in it. */
export async function openPeer(url: string): Promise<BrowserPeer> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(url);
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
