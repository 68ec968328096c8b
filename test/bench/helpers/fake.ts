import path from 'node:path';

/** The `serverCommand` that starts test/bench/helpers/fake-server.ts with extra flags. */
export function fakeServerCommand(...flags: string[]): string[] {
  return [process.execPath, path.join(import.meta.dirname, 'fake-server.ts'), ...flags];
}
