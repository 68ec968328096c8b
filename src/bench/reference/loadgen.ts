/**
 * Runs the reference instruments of ../shared/reference (C, built outside this
 * repository) and reads their one-line JSON reports. They are measuring tools,
 * not part of the product: build them with
 *   gcc -O2 -pthread -o ~/ref/loadgen   ../shared/reference/loadgen.c
 *   gcc -O2 -pthread -o ~/ref/ref_epoll ../shared/reference/ref_epoll.c
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findProgram, waitForPort } from '../load/processes.ts';

const run = promisify(execFile);

export const DEFAULT_LOADGEN = path.join(homedir(), 'ref', 'loadgen');
export const DEFAULT_REF_SERVER = path.join(homedir(), 'ref', 'ref_epoll');

/** A program a reference script needs: where it is looked for, the flag that moves it, how to get it. */
export interface Instrument {
  program: string;
  flag?: string;
  /** The C source in ../shared/reference it is built from; absent for installed servers (nats-server). */
  source?: string;
  install?: string;
}

/**
 * Checks, before anything runs, that the pinned Node.js runs this script and that
 * every instrument is there; otherwise says in a few lines what is missing and
 * how to get it, and exits with status 2 (never a stack trace half-way through).
 */
export function requireInstruments(script: string, instruments: readonly Instrument[]): void {
  const problems: string[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 26) {
    problems.push(
      `Node.js ${process.versions.node} is too old: run it with the pinned one, ` +
        `node_modules/.bin/node src/bench/reference/${script}.ts (after npm ci), or scripts/reference.sh ${script}`,
    );
  }
  for (const need of instruments) {
    if (findProgram(need.program)) continue;
    const moved = need.flag ? ` (or give its path with ${need.flag})` : '';
    const how = need.source
      ? `build it: mkdir -p ~/ref && gcc -O2 -pthread -o ${need.program.replace(homedir(), '~')} ../shared/reference/${need.source}`
      : `install it: ${need.install ?? `apt-get install ${path.basename(need.program)}`}`;
    problems.push(`${need.program.replace(homedir(), '~')} is missing${moved}; ${how}`);
  }
  if (problems.length === 0) return;
  process.stderr.write(`${script}: cannot run:\n${problems.map((p) => `  - ${p}\n`).join('')}`);
  process.exit(2);
}

export interface LoadgenRun {
  host?: string;
  port: number;
  clients: number;
  sizeBytes: number;
  durationS: number;
  warmupS: number;
  depth: number;
  threads: number;
  echo: boolean;
  /** Server pids whose CPU loadgen reports per message. */
  serverPids?: number[];
}

/** loadgen's report; the fields used here (it prints more). */
export interface LoadgenReport {
  msgs: number;
  msgs_per_s: number;
  p50_us: number;
  p99_us: number;
  errors: number;
  loadgen_cpu_s: number;
  server_cpu_s_per_million_msgs: number;
  [field: string]: unknown;
}

/** loadgen's command-line flags for `r`. */
export function loadgenArgs(r: LoadgenRun): string[] {
  const args = [
    '-H',
    r.host ?? '127.0.0.1',
    '-P',
    String(r.port),
    '-c',
    String(r.clients),
    '-s',
    String(r.sizeBytes),
    '-d',
    String(r.durationS),
    '-w',
    String(r.warmupS),
    '-p',
    String(r.depth),
    '-t',
    String(r.threads),
  ];
  if (r.echo) args.push('-e');
  if (r.serverPids?.length) args.push('-S', r.serverPids.join(','));
  return args;
}

/** loadgen's last stdout line, its report. */
export function parseLoadgenReport(stdout: string): LoadgenReport {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadgenReport;
}

/** `pinned`: on the tools' CPU (pinnedCommand). */
export async function runLoadgen(binary: string, r: LoadgenRun, pinned = false): Promise<LoadgenReport> {
  const [program, args] = pinned ? pinnedCommand(binary, loadgenArgs(r)) : [binary, loadgenArgs(r)];
  const { stdout } = await run(program, args, { timeout: (r.durationS + r.warmupS + 60) * 1000 });
  return parseLoadgenReport(stdout);
}

/**
 * --pin (Linux, taskset): every thread of a server on SERVER_CPU, each tool on TOOL_CPU. On a
 * 2-core machine the scheduler otherwise now and then runs a tool on the server's core, and that
 * round's figures halve (rounds in two clusters); pinned, each side gets one core, every round.
 */
export const PINNED_CPUS = { tool: 0, server: 1 } as const;

/** `program args`, to run on the tools' CPU. */
export function pinnedCommand(program: string, args: readonly string[]): [string, string[]] {
  return ['taskset', ['-c', String(PINNED_CPUS.tool), program, ...args]];
}

class PinError extends Error {
  readonly code = 'PIN_FAILED';
}

/**
 * Moves every thread `pid` has now onto the server's CPU (a handoff server's workers are up
 * once it listens). Throws a PinError that says what is missing when taskset cannot.
 */
export function pinServer(pid: number): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(PINNED_CPUS.server), String(pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new PinError(`--pin needs taskset (util-linux) and a CPU ${PINNED_CPUS.server}: ${(err as Error).message}`);
  }
}

/**
 * Writes a reference check's report as `<dir>/<stem>.md` and `<stem>.json` (the
 * figures behind it), and prints the markdown.
 */
export async function saveReferenceReport(dir: string, stem: string, markdown: string, data: object): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${stem}.md`), markdown);
  await writeFile(path.join(dir, `${stem}.json`), `${JSON.stringify(data, null, 1)}\n`);
  process.stdout.write(markdown);
}

/** A reference server process listening on a loopback port. */
export interface ReferenceServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Runs `command args` and resolves once it accepts connections on `port` (killed if it never does). */
export async function startListeningProcess(
  command: string,
  args: readonly string[],
  port: number,
  what = command,
): Promise<ReferenceServer> {
  const child = spawn(command, args, { stdio: 'ignore' });
  try {
    await waitForPort('127.0.0.1', port, 5_000, child, what);
  } catch (err) {
    child.kill();
    throw err;
  }
  return { port, pid: child.pid!, stop: () => Promise.resolve(void child.kill('SIGTERM')) };
}

/** Starts ref_epoll on `port` and resolves once it accepts connections. */
export function startRefServer(binary: string, port: number, threads: number, echo: boolean): Promise<ReferenceServer> {
  const args = ['-H', '127.0.0.1', '-p', String(port), '-t', String(threads)];
  if (echo) args.push('-e');
  return startListeningProcess(binary, args, port);
}
