// The docs' commands run, and what the docs point at exists, so that README.md and
// docs/*.md cannot rot silently. Every fenced shell block (```sh, ```shell, ```bash,
// ```console) is either run here, each command on its own, and must end with status 0
// (or the N of ```sh exit=N) within 30 s, or says in its info string why it is
// not run (```sh no-run: serves until Ctrl-C). A block without an info string, or an
// indented code block (which cannot carry one), fails. The commands run in a scratch
// folder that links to this checkout, so whatever they write is thrown away.
// And: every relative link (and its #anchor) and every src/, test/, scripts/ path that a
// code span or a shell block names points to something that exists.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { codeSpans, type FencedBlock, linkTargets, type Markdown, parseMarkdown } from './markdown.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
/** An exact copy of the shared spec (its indented blocks are wire diagrams, not commands). */
const VERBATIM = new Set(['docs/PROTOCOL.md']);
const SHELL = new Set(['sh', 'shell', 'bash', 'console']);
/** A command that does not end by then does not end by itself (the test as a whole gets 60 s). */
const COMMAND_TIMEOUT_MS = 30_000;
const parsed = new Map<string, Markdown>();
const markdown = (page: string): Markdown => {
  let md = parsed.get(page);
  if (!md) parsed.set(page, (md = parseMarkdown(readFileSync(path.join(ROOT, page), 'utf8'))));
  return md;
};

interface ShellBlock {
  readonly where: string;
  readonly commands: string[];
  /** Why it is not run; undefined: it runs. */
  readonly noRun: string | undefined;
  readonly exitStatus: number;
}

const isShell = (block: FencedBlock): boolean => SHELL.has(block.info.split(/\s+/)[0] ?? '');

function shellBlock(page: string, block: FencedBlock): ShellBlock | undefined {
  if (!isShell(block)) return undefined;
  const rest = block.info.split(/\s+/).slice(1);
  const where = `${page}:${block.line}`;
  const options = rest.join(' ');
  const noRun = /^no-run:?\s*(.*)$/.exec(options)?.[1];
  const exit = /^exit=(\d+)$/.exec(options);
  assert.ok(
    noRun !== undefined || exit || options === '',
    `${where}: unknown info string '${block.info}' (no-run: why, or exit=N)`,
  );
  assert.ok(
    noRun === undefined || noRun.split(/\s+/).length >= 2,
    `${where}: no-run needs its reason (no-run: serves until Ctrl-C)`,
  );
  const commands = block.body
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  return { where, commands, noRun, exitStatus: exit ? Number(exit[1]) : 0 };
}

test('every code block says what it is: fenced, with an info string', () => {
  const problems: string[] = [];
  for (const page of PAGES) {
    if (VERBATIM.has(page)) continue;
    const md = markdown(page);
    for (const line of md.indented)
      problems.push(`${page}:${line}: an indented code block; fence it (\`\`\`sh, \`\`\`text)`);
    for (const block of md.fenced)
      if (block.info === '') problems.push(`${page}:${block.line}: a fence without an info string`);
  }
  assert.deepEqual(problems, []);
});

test("the docs' cheap commands run; the others say why not", { timeout: 60_000 }, async (t) => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'handoff-docs-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  // The checkout as seen from elsewhere: bin/, src/, node_modules, package.json, ... but
  // results/ (and anything a command writes) is the scratch folder's own.
  for (const name of readdirSync(ROOT)) {
    if (name !== '.git' && name !== 'results' && name !== 'dist')
      symlinkSync(path.join(ROOT, name), path.join(scratch, name));
  }
  const shellBlocks = PAGES.flatMap((page) => markdown(page).fenced.flatMap((block) => shellBlock(page, block) ?? []));
  const run = shellBlocks.filter((block) => block.noRun === undefined);
  const commands = run.flatMap((block) => block.commands.map((command) => ({ block, command })));
  const running = new Set<number>();
  t.after(() => running.forEach(killGroup));
  const problems: string[] = [];
  const started = performance.now();
  // Two at a time (each command is mostly a Node start-up); after a failure none is started.
  let next = 0;
  const lane = async () => {
    for (let job = commands[next++]; job && problems.length === 0; job = commands[next++]) {
      const { block, command } = job;
      const { status, stderr } = await runCommand(command, scratch, running);
      if (status !== block.exitStatus) problems.push(`${block.where}: \`${command}\` ended with ${status}:\n${stderr}`);
      else if (status !== 0 && stderr.trim() === '')
        problems.push(`${block.where}: \`${command}\` failed without a word`);
    }
  };
  await Promise.all([lane(), lane()]);
  assert.deepEqual(problems, []);
  t.diagnostic(
    `${run.length} shell blocks run (${commands.length} commands) in ${Math.round(performance.now() - started)} ms; ` +
      `${shellBlocks.length - run.length} marked no-run`,
  );
  assert.ok(run.length >= 5, 'the docs show a few commands that run by themselves');
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs one command in its own process group, so that a timeout kills all it started (npm, bench, server). */
function runCommand(
  command: string,
  cwd: string,
  running: Set<number>,
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', COLUMNS: '80' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    const pgid = child.pid;
    if (pgid !== undefined) running.add(pgid);
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pgid !== undefined) killGroup(pgid);
    }, COMMAND_TIMEOUT_MS);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (pgid !== undefined) running.delete(pgid);
      resolve({ status, stderr: timedOut ? `still running after ${COMMAND_TIMEOUT_MS / 1000} s\n${stderr}` : stderr });
    });
  });
}

test('every relative link points to a file, and its #anchor to a heading there', () => {
  const problems: string[] = [];
  for (const page of PAGES) {
    for (const target of linkTargets(markdown(page).prose)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
      const [file = '', anchor] = target.split('#', 2);
      const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
      if (!existsSync(path.join(ROOT, resolved)))
        problems.push(`${page}: the link ${target} points to nothing (${resolved})`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !markdown(resolved).anchors.has(anchor)) {
        problems.push(`${page}: the link ${target}: ${resolved} has no heading #${anchor}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

const NAMED_PATH = /^(?:src|test|scripts|bin|docs|\.ci|results\/published)\/[\w.@+-]+(?:\/[\w.@+-]+)*\/?$/;

test('every src/, test/, scripts/ path the docs name exists', () => {
  const problems: string[] = [];
  for (const page of PAGES) {
    const md = markdown(page);
    const shellText = md.fenced.filter(isShell).map((block) => block.body);
    const tokens = [...codeSpans(md.prose), ...shellText].flatMap((text) => text.split(/[\s'"(),;:]+/));
    for (const token of tokens) {
      if (NAMED_PATH.test(token) && !existsSync(path.join(ROOT, token)))
        problems.push(`${page}: names ${token}, which does not exist`);
    }
  }
  assert.deepEqual([...new Set(problems)], []);
});
