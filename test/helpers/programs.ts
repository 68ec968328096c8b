// Whether a service program the tests start (redis-server, redis-cli, nats-server, haproxy)
// can run here. Missing, its tests are skipped, except where HANDOFF_REQUIRE_SERVICES is set
// (CI, whose .ci/run installs them), where that is a failure.
import { execFileSync } from 'node:child_process';

export function programAvailable(program: string, versionArgs: readonly string[] = ['--version']): boolean {
  try {
    execFileSync(program, versionArgs, { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.HANDOFF_REQUIRE_SERVICES) throw new Error(`${program} is required here but not installed`);
    return false;
  }
}
