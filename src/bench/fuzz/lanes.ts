/**
 * The fuzz runs' driver: `inputs` inputs, by index in order, on `concurrency`
 * lanes at once (each lane one connection at a time), until all are done or the
 * server under test is gone; progress every 5 s.
 */
export interface Lanes {
  inputs: number;
  concurrency: number;
  /** Called every few seconds with the inputs done so far. */
  onProgress?: (done: number) => void;
}

/** Runs `runOne` for every index; the seconds it took. `done()` is what progress reports, `stopped()` ends the run early. */
export async function runLanes(
  lanes: Lanes,
  hooks: { done: () => number; stopped: () => boolean },
  runOne: (index: number) => Promise<void>,
): Promise<number> {
  const started = performance.now();
  let next = 0;
  const progress = setInterval(() => lanes.onProgress?.(hooks.done()), 5_000);
  const lane = async () => {
    while (next < lanes.inputs && !hooks.stopped()) await runOne(next++);
  };
  try {
    await Promise.all(Array.from({ length: lanes.concurrency }, lane));
  } finally {
    clearInterval(progress);
  }
  return (performance.now() - started) / 1000;
}
