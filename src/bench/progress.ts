/**
 * Live view of a run on stderr: one progress bar per measurement with the
 * live msgs/s (cli-progress), or nothing when stderr is not a terminal.
 */
import cliProgress from 'cli-progress';
import type { ResolvedBenchOptions } from './options.ts';
import { fmtInt } from './format.ts';
import type { PlanInfo, RunHooks } from './load/window.ts';

export function progressHooks(options: ResolvedBenchOptions, print: (text: string) => void): RunHooks {
  const unitOfRate = options.mode === 'chat' ? 'deliveries/s' : 'msgs/s';
  const tty = options.progress && !options.json && process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  // --amount and --messages count messages; otherwise the bar counts seconds.
  const counted = options.amount || options.messages;
  const total = counted > 0 ? counted : options.durationS;
  const unit = counted > 0 ? 'msgs' : 's';
  const title = (p: PlanInfo) => `[${p.index + 1}/${p.total}] ${p.key}${p.round > 1 ? ` r${p.round}` : ''}`;
  return {
    onMeasurementStart(plan) {
      if (!tty) return;
      bar = new cliProgress.SingleBar(
        {
          format: `${title(plan).padEnd(30)} {bar} {value}/{total} ${unit} | {phase} | {rate} ${unitOfRate}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
          barsize: 24,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { phase: 'connect', rate: '-' });
    },
    onPhase(_plan, phase) {
      bar?.update({ phase });
    },
    onTick(_plan, tick) {
      if (!bar) return;
      const value = tick.phase !== 'measure' ? 0 : counted > 0 ? tick.messages : Math.round(tick.elapsedS);
      bar.update(Math.min(total, value), { phase: tick.phase, rate: fmtInt(tick.msgsPerSec) });
    },
    onMeasurementEnd() {
      bar?.stop();
      bar = null;
    },
    onWarning(text) {
      if (bar) {
        // Written above the bar, which redraws itself below.
        process.stderr.write('\r\x1b[K');
      }
      print(`warning: ${text}`);
    },
  };
}
