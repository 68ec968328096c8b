/**
 * Measurements on a shared machine: wait until it is quiet, then run one
 * measuring program and say how much CPU everything else took meanwhile, so
 * that a disturbed measurement can be told and made again. "Everything else"
 * is the machine's user and system time (/proc/stat, interrupts left out:
 * the loopback's softirq work for our own traffic is counted there) less the
 * program's own CPU, the server's and this process's (/proc/<pid>/stat).
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { machineCpuSeconds, machineProcessCpuSeconds, processCpuSeconds } from '../shared/system.ts';

/** How often the program's CPU is read while it runs (its last reading is its total, near enough). */
const POLL_MS = 100;

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Waits until the machine's busy share over one second is below `busyBelow`,
 * for at most `maxWaitS`; resolves with the last share measured (null off Linux).
 */
export async function waitForQuiet(maxWaitS: number, busyBelow: number): Promise<number | null> {
  const deadline = performance.now() + maxWaitS * 1000;
  for (;;) {
    const a = machineCpuSeconds();
    await sleep(1000);
    const b = machineCpuSeconds();
    if (!a || !b) return null;
    const share = (b.busy - a.busy) / Math.max(1e-9, b.total - a.total);
    if (share < busyBelow || performance.now() >= deadline) return share;
  }
}

export interface Watched {
  stdout: string;
  /** CPU seconds the machine spent on anything but the program, the known processes and this one, per second of its run (cores). */
  foreignCores: number | null;
}

/** Runs `program args` to its end; `knownPids` (the server) are not counted as foreign. */
export function runWatched(
  program: string,
  args: readonly string[],
  timeoutMs: number,
  knownPids: readonly number[],
): Promise<Watched> {
  const known = () => knownPids.reduce((a, pid) => a + (processCpuSeconds(pid) ?? 0), 0);
  const machine0 = machineProcessCpuSeconds();
  const known0 = known();
  const self0 = selfCpuSeconds();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let childCpu = 0;
    const child = execFile(program, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      clearInterval(poll);
      if (err) {
        reject(new Error(`${program} failed: ${err.message}`, { cause: err }));
        return;
      }
      const machine1 = machineProcessCpuSeconds();
      const seconds = (performance.now() - t0) / 1000;
      const ours = childCpu + (known() - known0) + (selfCpuSeconds() - self0);
      resolve({
        stdout,
        foreignCores: machine0 !== null && machine1 !== null ? Math.max(0, machine1 - machine0 - ours) / seconds : null,
      });
    });
    const poll = setInterval(() => {
      const cpu = child.pid === undefined ? null : processCpuSeconds(child.pid);
      if (cpu !== null) childCpu = cpu;
    }, POLL_MS);
  });
}
