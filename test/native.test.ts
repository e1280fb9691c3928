/**
 * The native build (native/build.sh): the worker built from this tree runs; a second run is a
 * no-op; a patch whose anchor moved aborts before compiling; a missing Debian library is named.
 * The build itself runs in the test set-up (scripts/setup.sh) of every fresh clone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/config.ts';

const BIN = path.join(PROJECT_ROOT, 'native', 'out', 'mediasoup-worker');

describe('native build', () => {
  it('the built worker starts, reports its version and links Debian libsrtp2 and OpenSSL', async () => {
    const worker = await mediasoup.createWorker({ workerBin: BIN });
    try {
      const usage = await worker.getResourceUsage();
      expect(usage.ru_maxrss).toBeGreaterThan(0);
      const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
      expect(router.rtpCapabilities.codecs?.[0]?.mimeType).toBe('audio/opus');
    } finally {
      worker.close();
    }
    const ldd = execFileSync('ldd', [BIN]).toString();
    expect(ldd).toMatch(/libsrtp2\.so/);
    expect(ldd).toMatch(/libssl\.so\.3/);
    // mediasoup's own default lookup finds the same binary (no env var needed).
    expect(readFileSync(mediasoup.workerBin)).toEqual(readFileSync(BIN));
  });

  it('is idempotent: a second run with nothing changed does not rebuild', () => {
    const r = spawnSync('sh', [path.join(PROJECT_ROOT, 'native', 'build.sh')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('compiling');
  });

  describe('in a scratch copy of native/', () => {
    function scratch(): string {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'octobridge-native-'));
      cpSync(path.join(PROJECT_ROOT, 'native'), path.join(dir, 'native'), {
        recursive: true,
        // not the build tree or the built worker
        filter: (src) => !['build', 'out'].includes(path.relative(path.join(PROJECT_ROOT, 'native'), src)),
      });
      symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      return dir;
    }

    it('aborts with "patch anchor not found" when an anchor is missing, before compiling', () => {
      const dir = scratch();
      try {
        const p = path.join(dir, 'native', 'patches', '0003-ice-487-role-conflict-signed.patch');
        writeFileSync(p, readFileSync(p, 'utf8').replace('"invalid ICE-CONTROLLED attribute in STUN Binding request");', '"moved anchor");'));
        const r = spawnSync('sh', [path.join(dir, 'native', 'build.sh')], { encoding: 'utf8' });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain('patch anchor not found: 0003-ice-487-role-conflict-signed.patch');
        expect(r.stderr).not.toContain('compiling');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('names the Debian package of a missing library', () => {
      const dir = scratch();
      try {
        const empty = path.join(dir, 'empty-pc');
        cpSync(path.join(dir, 'native', 'patches'), empty, { recursive: true }); // any dir without .pc files
        const r = spawnSync('sh', [path.join(dir, 'native', 'build.sh')], {
          encoding: 'utf8',
          env: { ...process.env, PKG_CONFIG_LIBDIR: empty, PKG_CONFIG_PATH: '' },
        });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("pkg-config module 'libuv' not found: install Debian package libuv1-dev");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
