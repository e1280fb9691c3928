/**
 * One endpoint count of bench/allocation.ts's scaling run, in a process of its own (see there why): the conference
 * case with the worst trigger (dominant speaker round robin, 5 Mbps). Prints its ConferenceCpuResult as JSON.
 *
 *   node bench/allocation/scaleOne.ts <endpoints> <warm-up ms> <timed ms>
 */
import { measureConference } from './cpu.ts';

const [n, warmupMs, ms] = process.argv.slice(2).map(Number);
if (!n || warmupMs === undefined || ms === undefined || Number.isNaN(warmupMs) || Number.isNaN(ms)) {
  process.stderr.write('usage: scaleOne.ts <endpoints> <warm-up ms> <timed ms>\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify(measureConference(n, 'dominant-speaker', [5_000_000], warmupMs, ms)));
