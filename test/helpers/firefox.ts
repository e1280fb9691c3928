/**
 * Headless Firefox ESR from Debian (/usr/bin/firefox-esr) driven by puppeteer-core over WebDriver
 * BiDi, with Firefox's fake camera and microphone and no permission prompt. One browser process
 * (and one fresh temporary profile) per participant, the same shape as ./chromium.ts.
 *
 * The profile reaches nothing but loopback: on top of puppeteer's own test profile (updates,
 * safebrowsing, remote settings, health report ... off) the prefs below turn off what is left
 * that would call out (telemetry, captive portal and connectivity checks, DNS prefetch,
 * add-on blocklist, push, the GMP/OpenH264 download). Two environment variables do the rest:
 * MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 (Firefox's test-harness switch: it refuses any connection
 * that is not local) and MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (a release build ignores puppeteer's
 * dummy `services.settings.server` without it and looks up firefox.settings.services.mozilla.com).
 * Checked with strace: every IP connect/send of the browser goes to 127.0.0.1.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { PagePeer } from './media.ts';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Firefox prefs of the test profile: fake media without prompts, WebRTC over loopback, no outside network. */
export const FIREFOX_PREFS: Record<string, string | number | boolean> = {
  // Fake camera and microphone (a colour-cycling frame and a 1 kHz tone), granted without a prompt.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // The bridge listens and advertises on 127.0.0.1: Firefox leaves loopback out of ICE unless told,
  // and plain host candidates (no mDNS names) keep the candidates in the answer usable.
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.no_host': false,
  // No outside network: telemetry, captive portal and connectivity checks, prefetch, blocklist, push, GMP.
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'datareporting.usage.uploadEnabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.http.speculative-parallel-limit': 0,
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.update.enabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'app.update.enabled': false,
  'app.update.auto': false,
  'app.shield.optoutstudies.enabled': false,
  'app.normandy.enabled': false,
  'dom.push.enabled': false,
  'dom.push.connection.enabled': false,
  'media.gmp-manager.url': '',
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-gmpopenh264.autoupdate': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.ping-centre.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'geo.enabled': false,
  'network.trr.mode': 5,
};

/** A participant: its browser and page (the same shape as ./chromium.ts `BrowserPeer`). */
export interface FirefoxPeer {
  browser: Browser;
  page: Page;
  /** Console lines of the page (for failure messages). */
  console: string[];
  close(): Promise<void>;
}

/** `p` as the media checks see a participant (./media.ts `PagePeer`), named `name`. */
export function firefoxPagePeer(p: FirefoxPeer, name: string): PagePeer {
  return { name, console: p.console, evaluate: (e) => p.page.evaluate(e) as Promise<never> };
}

/** Launch Firefox ESR with a fresh profile and open `url` in it. */
export async function openFirefoxPeer(url: string): Promise<FirefoxPeer> {
  // A private HOME and runtime dir as well (removed on close): Firefox writes caches under HOME, and without
  // XDG_RUNTIME_DIR its PulseAudio client leaves a /tmp/pulse-* directory behind on every run.
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'octobridge-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    env: {
      ...process.env,
      HOME: home,
      XDG_RUNTIME_DIR: home,
      MOZ_CRASHREPORTER_DISABLE: '1',
      MOZ_DISABLE_AUTO_SAFE_MODE: '1',
      MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1',
      MOZ_REMOTE_SETTINGS_DEVTOOLS: '1',
    },
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  await page.goto(url);
  return {
    browser,
    page,
    console,
    async close() {
      await browser.close().catch(() => undefined);
      await fs.rm(home, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
