// handoff as a user's project depends on it: `npm pack` (its prepack builds dist/: JavaScript
// and declarations, since Node strips no types under node_modules), the tarball installed
// into a fresh project, and each public entry point imported there by its package name,
// under the pinned Node; its types checked by tsc with the user's usual settings; its errors
// matched with instanceof across the two copies; and an older Node refused in one line.
// Offline: the dependencies come from the npm cache that `npm ci` filled, pinned to the
// versions of our own package-lock.json.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as ours from '../../src/protocol/index.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A lockfile for a project that depends on the tarball only: our own pins for its dependencies. */
async function lockfileFor(tarball: string): Promise<object> {
  const ourLock = JSON.parse(await readFile(path.join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const ourPackage = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    engines: Record<string, string>;
  };
  const packages: Record<string, unknown> = {
    '': { name: 'app', version: '1.0.0', dependencies: { handoff: `file:${tarball}` } },
    'node_modules/handoff': {
      version: ourPackage.version,
      resolved: `file:${tarball}`,
      dependencies: ourPackage.dependencies,
      engines: ourPackage.engines,
      bin: { handoff: 'bin/handoff' },
    },
  };
  for (const [where, entry] of Object.entries(ourLock.packages)) {
    if (where.startsWith('node_modules/') && !entry.dev) packages[where] = entry;
  }
  return { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

const USE = `
import { connect, ConnectError, type ClientOptions } from 'handoff/client';
import { encodeTextFrame, ErrorCode } from 'handoff/protocol';
import { bench, type BenchResult } from 'handoff/bench';
import { startServer, type ServerOptions } from 'handoff/server';

const serverOptions: ServerOptions = { port: 0, workers: 1, silent: true, mode: 'echo' };
const server = await startServer(serverOptions);
const options: ClientOptions = { port: server.port };
const client = await connect(options);
const reply: string = await client.send('hello from a user project');
const frame: Buffer = encodeTextFrame(reply, 64);
const run = (await bench({ target: \`127.0.0.1:\${server.port}\`, clients: 1, workers: 1, amount: 50, mode: 'echo', out: '' })) as BenchResult;
let refused = '';
try {
  await connect({ port: 1 });
} catch (err) {
  if (err instanceof ConnectError) refused = err.code;
}
await client.close();
await server.close();
console.log(JSON.stringify({ reply, frame: frame.length, messages: run.measurements[0]!.window.messages, refused, code: ErrorCode.BAD_HEADER }));
`;

let app = '';
let installed: string | false = false;

before(async () => {
  app = await mkdtemp(path.join(tmpdir(), 'handoff-consumer-'));
  const packed = await sh('npm', ['pack', '--pack-destination', app, '--json'], REPO);
  assert.equal(packed.code, 0, packed.stderr);
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: Array<{ path: string }> }];
  const shipped = files.map((f) => f.path);
  assert.ok(shipped.includes('dist/client/index.js') && shipped.includes('dist/client/index.d.ts'), 'built by prepack');
  assert.ok(!shipped.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources and tests stay home');
  const tarball = path.join(app, filename);
  await writeFile(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'app',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: { handoff: `file:${tarball}` },
    }),
  );
  await writeFile(path.join(app, 'package-lock.json'), JSON.stringify(await lockfileFor(tarball)));
  const ci = await sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);
  if (ci.code !== 0 && /ENOTCACHED/.test(ci.stderr) && !process.env.HANDOFF_REQUIRE_SERVICES) {
    installed = `the npm cache lacks a dependency (run npm ci here first): ${ci.stderr.split('\n')[0]}`;
    return;
  }
  assert.equal(ci.code, 0, ci.stderr);
  installed = app;
  await writeFile(path.join(app, 'use.ts'), USE);
});

after(() => rm(app, { recursive: true, force: true }));

const needsInstall = () => (typeof installed === 'string' && installed !== app ? installed : false);

test('a user project imports handoff/client, /protocol, /bench and /server by name and runs them (pinned Node)', async (t) => {
  if (needsInstall()) return t.skip(needsInstall() as string);
  // The user's own .ts file is outside node_modules: Node strips its types.
  const ran = await sh(process.execPath, ['use.ts'], app, 60_000);
  assert.equal(ran.code, 0, ran.stderr);
  assert.deepEqual(JSON.parse(ran.stdout), {
    reply: 'hello from a user project',
    frame: 64 + 'hello from a user project'.length,
    messages: 50,
    refused: 'ERR_CONNECT',
    code: 'BAD_HEADER',
  });
});

test("the declarations type-check a user's strict TypeScript, with no @types of our dev dependencies", async (t) => {
  if (needsInstall()) return t.skip(needsInstall() as string);
  const tsconfig = {
    compilerOptions: {
      target: 'es2024',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [path.join(REPO, 'node_modules', '@types')],
    },
    include: ['use.ts'],
  };
  await writeFile(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
  const tsc = await sh(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
  assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
});

test('instanceof holds between the installed copy and this one', async (t) => {
  if (needsInstall()) return t.skip(needsInstall() as string);
  const entry = path.join(app, 'node_modules', 'handoff', 'dist', 'protocol', 'index.js');
  const theirs = (await import(pathToFileURL(entry).href)) as typeof ours;
  assert.notEqual(theirs.ConnectError, ours.ConnectError, 'two copies');
  assert.ok(new theirs.ConnectError('x') instanceof ours.ConnectError);
  assert.ok(theirs.protocolErrorFor('TIMEOUT', 'late') instanceof ours.ProtocolError);
  assert.ok(new ours.BadRoomError('x') instanceof theirs.CommandRefusedError);
});

test("an older Node than package.json's engines: the server refuses to start, in one line", async (t) => {
  if (needsInstall()) return t.skip(needsInstall() as string);
  // The machine's own node (v20 here), if it has one older than ours.
  const system = ['/usr/bin/node', '/usr/local/bin/node'];
  let older = '';
  for (const candidate of system) {
    const v = await sh(candidate, ['--version'], app, 10_000);
    if (v.code === 0 && Number(/^v(\d+)/.exec(v.stdout)?.[1]) < 26) older = candidate;
  }
  if (!older) return t.skip('no Node.js older than 26 on this machine');
  const script =
    "import('handoff/server').then((m) => m.startServer({ port: 0, silent: true })).then(() => process.exit(0), (e) => { console.log(e.code, e.message); process.exit(3); })";
  const ran = await sh(older, ['--input-type=module', '-e', script], app, 20_000);
  assert.equal(ran.code, 3, ran.stdout + ran.stderr);
  assert.match(
    ran.stdout,
    /^ERR_UNSUPPORTED_RUNTIME the server needs Node\.js >= 26\.10\.0 \(socket transfer to worker threads\); this is v\d+/,
  );
});
