/**
 * What the bench reads from the machine: open-file limits, CPU time of a
 * process (the embedded server) and of the whole machine, and the
 * environment recorded with a run. Linux /proc; elsewhere the figures are null.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, availableParallelism } from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { FileLimitError } from '../../protocol/index.ts';

/** Descriptors a process needs beyond its connections (stdio, epoll, pipes, threads...). */
const FD_HEADROOM = 64;

export interface FileLimit {
  soft: number;
  hard: number;
}

function limitValue(text: string): number {
  return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
}

export function readFileLimit(limitsText?: string): FileLimit | null {
  try {
    const text = limitsText ?? readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    return m ? { soft: limitValue(m[1]!), hard: limitValue(m[2]!) } : null;
  } catch {
    return null;
  }
}

/**
 * Node cannot call setrlimit, so the bench cannot raise its own limit: it says
 * exactly what to run instead. (bin/handoff raises the soft limit to the hard
 * one when the shell allows.) The embedded server inherits the same limit.
 */
export function checkFileLimit(clients: number, limit: FileLimit | null = readFileLimit()): void {
  if (!limit) return;
  const need = clients + FD_HEADROOM;
  if (limit.soft >= need) return;
  if (limit.hard >= need) {
    throw new FileLimitError(
      `--clients ${clients} needs about ${need} open files but the limit is ${limit.soft}: ` +
        `run 'ulimit -n ${Number.isFinite(limit.hard) ? Math.min(limit.hard, Math.max(need, 65_536)) : Math.max(need, 65_536)}' in this shell first`,
    );
  }
  throw new FileLimitError(
    `--clients ${clients} needs about ${need} open files but the hard limit is ${limit.hard}: ` +
      `lower --clients to ${Math.max(1, limit.hard - FD_HEADROOM)} or raise the hard limit (limits.conf, or 'prlimit --nofile')`,
  );
}

let clockTicks = 0;
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds of process `pid` (all its threads), or null if unreadable. */
export function processCpuSeconds(pid: number): number | null {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** The same for one thread of it: `tid` = `pid` is its main thread (the acceptor of strategy handoff). */
export function threadCpuSeconds(pid: number, tid: number = pid): number | null {
  return statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
}

function statCpuSeconds(file: string): number | null {
  try {
    const stat = readFileSync(file, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Open file descriptors of process `pid` (entries of /proc/<pid>/fd), or null if unreadable. */
export function processFdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Resident set size of process `pid` in bytes (VmRSS), or null if unreadable. */
export function processRssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Busy and total CPU seconds of the whole machine, summed over cores. */
export function machineCpuSeconds(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const hz = ticksPerSecond();
    return { busy: (total - idle) / hz, total: total / hz };
  } catch {
    return null;
  }
}

/**
 * User + nice + system CPU seconds of the whole machine, summed over cores: the
 * time processes ran, without interrupts (a loopback's softirq work is there). Null off Linux.
 */
export function machineProcessCpuSeconds(): number | null {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return ((v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0)) / ticksPerSecond();
  } catch {
    return null;
  }
}

export interface Environment {
  node: string;
  platform: string;
  cpuModel: string;
  cores: number;
  date: string;
  gitCommit: string | null;
  hostname?: string;
}

/**
 * The commit checked out in `repoDir`, read from .git without running git. In a
 * worktree .git is a file (`gitdir: ...`) and the refs live in the common folder
 * that that folder's `commondir` names.
 */
export function gitCommit(repoDir: string): string | null {
  try {
    let gitDir = path.join(repoDir, '.git');
    if (statSync(gitDir).isFile()) {
      gitDir = path.resolve(
        repoDir,
        readFileSync(gitDir, 'utf8')
          .trim()
          .replace(/^gitdir: /, ''),
      );
    }
    let commonDir = gitDir;
    try {
      commonDir = path.resolve(gitDir, readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim());
    } catch {
      // A plain repository: the refs are in its own .git.
    }
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    try {
      return readFileSync(path.join(commonDir, ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(path.join(commonDir, 'packed-refs'), 'utf8');
      const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
      return line ? line.split(' ')[0]! : null;
    }
  } catch {
    return null;
  }
}

/** One line for a report: Node, CPU, platform, date, commit. */
export function describeEnvironment(e: Environment): string {
  return `Node ${e.node}, ${e.cpuModel} (${e.cores} cores), ${e.platform}, ${e.date}, commit ${e.gitCommit?.slice(0, 12) ?? 'unknown'}`;
}

export const REPO_DIR = path.resolve(import.meta.dirname, '..', '..', '..');

export function environment(): Environment {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    date: new Date().toISOString(),
    gitCommit: gitCommit(REPO_DIR),
  };
}
