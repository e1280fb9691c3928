/**
 * The speed probe's process (bench/lib/speedProbe.ts): every 250 ms, a fixed piece of SRTP-like work — AES-128-CTR
 * over a 1,200-byte packet and an HMAC-SHA1 of it, {@link UNITS} times — timed in this process's CPU time (not wall
 * time, so waiting for a core does not count), printed as µs of CPU per unit, one number a line.
 */
import crypto from 'node:crypto';

/** Units of work per tick (~1 ms of CPU on the 2-core test VM: ~0.4 % of a core). */
const UNITS = 100;
const TICK_MS = 250;

const key = crypto.randomBytes(16);
const authKey = crypto.randomBytes(20);
const packet = crypto.randomBytes(1200);
const cipher = crypto.createCipheriv('aes-128-ctr', key, crypto.randomBytes(16));

function tick(): void {
  const before = process.cpuUsage();
  for (let i = 0; i < UNITS; i++) {
    const encrypted = cipher.update(packet);
    crypto.createHmac('sha1', authKey).update(encrypted).digest();
  }
  const used = process.cpuUsage(before);
  process.stdout.write(`${((used.user + used.system) / UNITS).toFixed(3)}\n`);
}

setInterval(tick, TICK_MS);
process.stdout.on('error', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
