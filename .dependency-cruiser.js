// `npm run lint` runs this (depcruise src): no value-import cycle anywhere in src, and no
// import that climbs a layer. The layers, lowest first (an arrow is "may import"):
//
//   src/protocol                      imports nothing of ours
//   src/options   -> protocol
//   src/server    -> protocol, options      (its boxes below)
//   src/client    -> protocol, options
//   src/bench     -> protocol, options, and of the server only BENCH_READS_FROM_SERVER
//   src/cli.ts    -> everything (it ties the commands together)
//
// src/server is in boxes (README "Architecture"), each a folder whose files import only
// boxes of a lower rank (or their own box), and the files at the top of src/server
// (startServer, options, cli, index, runtime) tie them together:
//
//   0  observe  io      counters, metrics, logs / reading and writing bytes fast
//   1  prelude  chat    PROXY, TLS / rooms, bus, Redis
//   2  session          one connection, one thread's connections
//   3  accept           acceptor, strategies, pool, pool threads
//   top                 server.ts, options.ts, cli.ts, index.ts, runtime.ts
//
// One exception, types only: every box may read its settings' type (ResolvedServerOptions,
// Mode, Strategy) from the top's options.ts. The resolved options are handed down at start;
// a type import is erased and runs nothing.

/** The server's boxes and their ranks: a box may import a box of a lower rank. */
const SERVER_BOXES = { observe: 0, io: 0, prelude: 1, chat: 1, session: 2, accept: 3 };
const TOP = '^src/server/[^/]+[.]ts$';
const OPTIONS = '^src/server/options[.]ts$';

/** What the bench may use of the server: the option lists, ServerStats, a /metrics parser, the handle writer. */
const BENCH_READS_FROM_SERVER = [
  OPTIONS,
  '^src/server/server[.]ts$',
  '^src/server/observe/metrics-text[.]ts$',
  // The one write straight to a libuv handle, shared by the server's acks and the load threads.
  '^src/server/io/handle-write[.]ts$',
];

/** What each layer of src may import besides itself (the picture at the top). */
const LAYERS = {
  protocol: [],
  options: ['protocol'],
  server: ['protocol', 'options'],
  client: ['protocol', 'options'],
  bench: ['protocol', 'options', ...BENCH_READS_FROM_SERVER],
};

const layerRules = Object.entries(LAYERS).map(([layer, below]) => ({
  name: `${layer}-climbs`,
  comment: `src/${layer}/ imports only ${below.length === 0 ? 'nothing of ours' : below.join(', ')}`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: {
    path: '^src/',
    pathNot: [`^src/${layer}/`, ...below.map((name) => (name.startsWith('^') ? name : `^src/${name}/`))],
  },
}));

const valueCycle = {
  circular: true,
  dependencyTypesNot: ['type-only'],
  viaOnly: { dependencyTypesNot: ['type-only'] },
};

const boxRules = Object.entries(SERVER_BOXES).map(([box, rank]) => ({
  name: `server-${box}-climbs`,
  comment: `src/server/${box}/ imports only boxes of a rank below ${rank}, and no file at the top of src/server`,
  severity: 'error',
  from: { path: `^src/server/${box}/` },
  to: {
    path: [
      TOP,
      ...Object.entries(SERVER_BOXES)
        .filter(([other, otherRank]) => other !== box && otherRank >= rank)
        .map(([other]) => `^src/server/${other}/`),
    ],
    // The types-only exception above; a value import of options.ts is the next rule's.
    pathNot: OPTIONS,
  },
}));

/**
 * The bench's layers, lowest first: a module imports only its own layer and the ones below.
 *
 *   0  shared    format, stats, latency histograms and summaries, tables, the machine (system.ts)
 *   1  results   the saved run's schema, its reports, charts, comparison and merge
 *   2  load      running the load: threads, rounds, the window, embedded servers, chat targets
 *   3  options   bench options, validated once (reads chat's layout and stamp limits from load)
 *   4  programs  fuzz, soak, reference, micro, and script.ts (their command-line kit)
 *   5  top       cli.ts, merge-cli.ts, index.ts (the public API), progress.ts
 *
 * One exception, types only: any layer may read ResolvedBenchOptions from options.ts (the
 * resolved options are handed down; a type import runs nothing), as the server's boxes do.
 */
const BENCH_LAYERS = [
  ['shared', '^src/bench/shared/'],
  ['results', '^src/bench/results/'],
  ['load', '^src/bench/load/'],
  ['options', '^src/bench/options[.]ts$'],
  ['programs', '^src/bench/((fuzz|soak|reference|micro)/|script[.]ts$)'],
  ['top', '^src/bench/(cli|merge-cli|index|progress)[.]ts$'],
];
const BENCH_OPTIONS = '^src/bench/options[.]ts$';

const benchRules = BENCH_LAYERS.slice(0, -1).map(([layer, path], rank) => ({
  name: `bench-${layer}-climbs`,
  comment: `src/bench's ${layer} imports only ${rank === 0 ? 'itself' : BENCH_LAYERS.slice(0, rank).map(([l]) => l).join(', ')} (.dependency-cruiser.js)`,
  severity: 'error',
  from: { path },
  to: { path: BENCH_LAYERS.slice(rank + 1).map(([, above]) => above) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-value-cycle',
      comment: 'a value import cycle: modules that need each other to load (type-only imports are erased)',
      severity: 'error',
      from: { path: '^src/' },
      to: valueCycle,
    },
    ...layerRules,
    ...boxRules,
    ...benchRules.map((rule) =>
      // The types-only exception: a type import of options.ts is no climb.
      rule.from.path === BENCH_OPTIONS ? rule : { ...rule, to: { ...rule.to, pathNot: BENCH_OPTIONS } },
    ),
    {
      name: 'bench-options-values',
      comment: 'below options.ts, the bench reads only the type of the resolved options, never its values',
      severity: 'error',
      from: { path: BENCH_LAYERS.slice(0, 3).map(([, path]) => path) },
      to: { path: BENCH_OPTIONS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'bench-file-without-layer',
      comment: 'every module of src/bench is in a layer of BENCH_LAYERS (.dependency-cruiser.js)',
      severity: 'error',
      from: { path: '^src/bench/', pathNot: BENCH_LAYERS.map(([, path]) => path) },
      to: {},
    },
    {
      name: 'server-box-options-values',
      comment: 'a box reads only the type of the top options.ts, never its values',
      severity: 'error',
      from: { path: '^src/server/[^/]+/' },
      to: { path: OPTIONS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'server-folder-without-rank',
      comment: 'every folder of src/server is a box with a rank in SERVER_BOXES (.dependency-cruiser.js)',
      severity: 'error',
      from: { path: '^src/server/[^/]+/', pathNot: `^src/server/(${Object.keys(SERVER_BOXES).join('|')})/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are seen (and marked type-only), so that the rules can tell them apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
