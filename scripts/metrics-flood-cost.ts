/**
 * What a scrape flood costs the data path (issue 14): echo throughput with and without
 * `--scrapers` local threads hammering /metrics in a closed loop, side by side, for one or
 * more builds (`name@path/to/bin/handoff`; default: this checkout). Every round runs each
 * build quiet then flooded (A B A B ...), a fresh server each time, the C load generator
 * (../shared/reference/loadgen.c, built in ~/ref) against it; medians and ratios at the end.
 *
 *   node scripts/metrics-flood-cost.ts [--rounds 5] [--seconds 4] [--scrapers 8] [-c 100] [-s 64] [--json FILE] [name@bin ...]
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

if (!isMainThread) {
  // A scraper: GET /metrics as fast as the server answers, until told to stop.
  const { url } = workerData as { url: string };
  let stop = false;
  let scrapes = 0;
  let failures = 0;
  parentPort!.on('message', () => (stop = true));
  while (!stop) {
    try {
      const response = await fetch(url);
      await response.text();
      if (scrapes++ === 0) parentPort!.postMessage('scraping'); // started: the load may begin
    } catch {
      failures++;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  parentPort!.postMessage({ scrapes, failures });
} else {
  await main();
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '4' },
      scrapers: { type: 'string', default: '8' },
      c: { type: 'string', default: '100' },
      s: { type: 'string', default: '64' },
      json: { type: 'string' },
    },
  });
  const loadgen = process.env.LOADGEN ?? `${homedir()}/ref/loadgen`;
  if (!existsSync(loadgen)) {
    console.error(`${loadgen} is missing: gcc -O2 -pthread -o ~/ref/loadgen ../shared/reference/loadgen.c`);
    process.exit(2);
  }
  const here = fileURLToPath(new URL('../bin/handoff', import.meta.url));
  const builds = (positionals.length > 0 ? positionals : [`this@${here}`]).map((b) => {
    const [name, bin] = b.split(/@(.*)/s);
    return { name: name!, bin: bin! };
  });
  const rows: Array<Record<string, unknown>> = [];
  let port = 5600;
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const build of builds) {
      for (const flood of [false, true]) {
        port += 2;
        const server = spawn(
          build.bin,
          [
            'serve',
            '--port',
            String(port),
            '--metrics-port',
            String(port + 1),
            '--mode',
            'echo',
            '--quiet',
            '--workers',
            '2',
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        server.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
        while (!out.includes('[METRICS]')) await new Promise((r) => setTimeout(r, 20));
        const url = `http://127.0.0.1:${port + 1}/metrics`;
        const scrapers = flood
          ? Array.from(
              { length: Number(values.scrapers) },
              () => new Worker(fileURLToPath(import.meta.url), { workerData: { url } }),
            )
          : [];
        // The load starts once every scraper is hammering (their start-up is not part of the cost), and a second more.
        await Promise.all(scrapers.map((w) => once(w, 'message')));
        await new Promise((r) => setTimeout(r, 1000));
        const args = ['-H', '127.0.0.1', '-P', String(port), '-c', values.c!, '-s', values.s!, '-d', values.seconds!];
        const run = spawnSync(loadgen, [...args, '-w', '1', '-p', '1', '-t', '1', '-e', '-S', String(server.pid)], {
          encoding: 'utf8',
        });
        const measured = JSON.parse(run.stdout) as Record<string, number>;
        const results = await Promise.all(
          scrapers.map(async (w) => {
            w.postMessage('stop');
            const [message] = (await once(w, 'message')) as [{ scrapes: number; failures: number }];
            await w.terminate();
            return message;
          }),
        );
        server.kill();
        await once(server, 'exit');
        const scrapeSeconds = Number(values.seconds) + 2; // loadgen's warm-up and the second before it
        const row = {
          round,
          build: build.name,
          flood,
          msgsPerS: measured.msgs_per_s,
          p50Us: measured.p50_us,
          p99Us: measured.p99_us,
          serverCpuUsPerMsg: measured.server_cpu_s_per_million_msgs,
          // CPU other processes used meanwhile (loadgen's figure): how noisy the machine was.
          foreignCpuS: measured.foreign_user_cpu_s,
          scrapesPerS: results.reduce((n, r) => n + r.scrapes, 0) / scrapeSeconds,
          scrapeFailures: results.reduce((n, r) => n + r.failures, 0),
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const med = (build: string, flood: boolean, key: string) =>
    median(rows.filter((r) => r.build === build && r.flood === flood).map((r) => Number(r[key])));
  // Each round's flooded run against the quiet run just before it: neighbours share the machine's noise.
  const pairedRatio = (build: string, key: string) =>
    median(
      rows
        .filter((r) => r.build === build && r.flood === true)
        .map((f) => {
          const q = rows.find((r) => r.build === build && r.flood === false && r.round === f.round)!;
          return Number(f[key]) / Number(q[key]);
        }),
    );
  console.log(
    `\n| build | msgs/s quiet | msgs/s with ${values.scrapers} scrapers | flooded/quiet (medians) | flooded/quiet (median of rounds) | server CPU-µs/msg quiet / flooded | p50 µs quiet / flooded | scrapes/s |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const { name } of builds) {
    const quiet = med(name, false, 'msgsPerS');
    const flooded = med(name, true, 'msgsPerS');
    console.log(
      `| ${name} | ${quiet.toFixed(0)} | ${flooded.toFixed(0)} | ${(flooded / quiet).toFixed(3)} | ${pairedRatio(name, 'msgsPerS').toFixed(3)} | ${med(name, false, 'serverCpuUsPerMsg').toFixed(2)} / ${med(name, true, 'serverCpuUsPerMsg').toFixed(2)} | ${med(name, false, 'p50Us').toFixed(0)} / ${med(name, true, 'p50Us').toFixed(0)} | ${med(name, true, 'scrapesPerS').toFixed(0)} |`,
    );
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ options: values, builds, rows }, null, 2));
}
