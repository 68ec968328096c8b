// The server transfers accepted sockets to worker threads, which older Node.js lines cannot
// do: there it would accept and then never answer. So it refuses to start, in one line.
import { readFileSync } from 'node:fs';
import { UnsupportedRuntimeError } from '../protocol/index.ts';

/** package.json's `engines.node` (`>=26.10.0`): one place says which Node.js runs handoff. */
function minimumNode(): string {
  // The same path from src/server and from a packed dist/server.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
  };
  return pkg.engines.node.replace(/^>=\s*/, '');
}

/** Whether `version` (`v26.10.0`) is at least `minimum` (`26.10.0`). */
export function isAtLeast(version: string, minimum: string): boolean {
  const have = version.replace(/^v/, '').split('.').map(Number);
  const need = minimum.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) !== need[i]) return (have[i] ?? 0) > need[i]!;
  }
  return true;
}

/** Throws UnsupportedRuntimeError on a Node.js older than package.json's engines. */
export function checkRuntime(version = process.version): void {
  const minimum = minimumNode();
  if (!isAtLeast(version, minimum)) {
    throw new UnsupportedRuntimeError(
      `the server needs Node.js >= ${minimum} (socket transfer to worker threads); this is ${version}`,
    );
  }
}
