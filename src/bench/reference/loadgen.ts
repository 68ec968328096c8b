/**
 * Runs the reference instruments of ../shared/reference (C, built outside this
 * repository) and reads their one-line JSON reports. They are measuring tools,
 * not part of the product: build them with
 *   gcc -O2 -pthread -o ~/ref/loadgen   ../shared/reference/loadgen.c
 *   gcc -O2 -pthread -o ~/ref/ref_epoll ../shared/reference/ref_epoll.c
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitForPort } from '../load/processes.ts';

const run = promisify(execFile);

export const DEFAULT_LOADGEN = path.join(homedir(), 'ref', 'loadgen');
export const DEFAULT_REF_SERVER = path.join(homedir(), 'ref', 'ref_epoll');

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

export async function runLoadgen(binary: string, r: LoadgenRun): Promise<LoadgenReport> {
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
  const { stdout } = await run(binary, args, { timeout: (r.durationS + r.warmupS + 60) * 1000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadgenReport;
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

/** Starts ref_epoll on `port` and resolves once it accepts connections. */
export async function startRefServer(
  binary: string,
  port: number,
  threads: number,
  echo: boolean,
): Promise<ChildProcess> {
  const args = ['-H', '127.0.0.1', '-p', String(port), '-t', String(threads)];
  if (echo) args.push('-e');
  const child = spawn(binary, args, { stdio: 'ignore' });
  try {
    await waitForPort('127.0.0.1', port, 5_000, child, binary);
  } catch (err) {
    child.kill();
    throw err;
  }
  return child;
}
