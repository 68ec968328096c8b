/**
 * Charts as SVG: a vega-lite spec, compiled by vega-lite and rendered by
 * vega's headless View (no canvas needed for SVG).
 *
 * Sized to be read in docs/performance.md on GitHub (about 800 px wide, panels two
 * to a row, legends below): text is not shrunk by the page. A run of one
 * payload size draws bars per variant, not lone dots on a log axis.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { formatSize } from '../shared/format.ts';
import type { SummaryRow } from './result.ts';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PANEL = { width: 300, height: 200 };
const CONFIG = {
  view: { stroke: null },
  font: 'sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { orient: 'bottom', labelFontSize: 11, titleFontSize: 12, direction: 'horizontal' },
  title: { fontSize: 14 },
} as const;

/** The colour of each verdict, the same in every comparison chart (green faster, red slower). */
export const VERDICT_COLOURS: Readonly<Record<string, string>> = {
  'B faster': '#2ca02c',
  'within noise': '#8c8c8c',
  'B slower': '#d62728',
  'no noise estimate': '#ff7f0e',
};

const SIZE_LABEL =
  "datum.value >= 1048576 ? datum.value / 1048576 + ' MiB' : datum.value >= 1024 ? datum.value / 1024 + ' KiB' : datum.value + ' B'";

/**
 * Payload size on a log scale, ticks at the sizes measured; labels not pushed
 * inward at the ends (vega's labelFlush made `16 KiB64 KiB`), and turned when many.
 */
function sizeAxis(sizes: readonly number[]) {
  const ticks = [...new Set(sizes)].sort((a, b) => a - b);
  return {
    field: 'sizeBytes',
    type: 'quantitative' as const,
    title: 'payload size (log scale)',
    scale: { type: 'log' as const, base: 2 },
    axis: {
      values: ticks,
      labelExpr: SIZE_LABEL,
      labelFlush: false,
      labelOverlap: false,
      labelAngle: ticks.length > 8 ? -35 : 0,
      labelAlign: ticks.length > 8 ? ('right' as const) : ('center' as const),
      grid: false,
    },
  };
}

/** Powers of ten over the values: the ticks of a log axis whose labels do not collide. */
function decades(values: readonly number[]): number[] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [1];
  const low = Math.floor(Math.log10(Math.min(...positive)));
  const high = Math.ceil(Math.log10(Math.max(...positive)));
  return Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
}

/** Panels two to a row over one data set: the top level of every run chart. */
export function grid(title: string, values: object[], panels: object[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: 'start', offset: 14 },
    data: { values },
    config: CONFIG,
    columns: 2,
    concat: panels,
  } as TopLevelSpec;
}

/** The x of a bar panel: one bar per variant, the axis title naming the one point measured. */
const barX = (point: string) => ({ field: 'variant', type: 'nominal', title: point, axis: { labelAngle: 0 } });

/** A line panel against payload size, or, given the one point's name (`at 1 KiB`), bars per variant. */
function panel(
  heading: string,
  oneSize: string | null,
  x: object,
  y: object,
  colour: object,
  extra: { layer?: object[]; transform?: object[]; encoding?: object } = {},
) {
  const main = oneSize
    ? {
        mark: { type: 'bar' },
        encoding: { x: barX(oneSize), y, color: colour },
      }
    : { mark: { type: 'line', point: true }, encoding: { x, y, color: colour, ...extra.encoding } };
  return {
    ...PANEL,
    title: heading,
    ...(extra.transform ? { transform: extra.transform } : {}),
    layer: [main, ...(extra.layer ?? [])],
  };
}

/** msgs/s, MB/s (payload solid, wire dashed) and header share against payload size, one line per variant. */
export function runChartSpec(rows: readonly SummaryRow[], title: string): TopLevelSpec {
  const values = rows.map((r) => ({
    variant: r.variant,
    sizeBytes: r.sizeBytes,
    size: formatSize(r.sizeBytes),
    msgsPerSec: Math.round(r.msgsPerSec),
    payloadMBps: r.payloadMBps,
    wireMBps: r.wireMBps,
    headerShare: r.headerShare,
  }));
  const oneSize = new Set(rows.map((r) => r.sizeBytes)).size === 1 ? `at ${formatSize(rows[0]!.sizeBytes)}` : null;
  const colour = { field: 'variant', type: 'nominal' as const, title: 'server, header' };
  const x = sizeAxis(rows.map((r) => r.sizeBytes));
  const mbps = oneSize ? mbpsBars(oneSize, colour) : mbpsLines(rows, x, colour);
  return grid(title, values, [
    panel('messages per second', oneSize, x, { field: 'msgsPerSec', type: 'quantitative', title: 'msgs/s' }, colour),
    mbps,
    panel(
      'header share of wire bytes (measured)',
      oneSize,
      x,
      {
        field: 'headerShare',
        type: 'quantitative',
        title: 'header / wire bytes',
        scale: { domain: [0, 1] },
        axis: { format: '.0%' },
      },
      colour,
      { layer: HALF_OF_THE_WIRE },
    ),
  ]);
}

type Colour = { field: string; type: 'nominal'; title: string };

/** One size: payload and wire MB/s as two bars per variant. */
function mbpsBars(oneSize: string, colour: Colour) {
  return {
    ...PANEL,
    title: 'MB/s: payload and wire',
    transform: [{ fold: ['payloadMBps', 'wireMBps'], as: ['kind', 'MBps'] }],
    mark: { type: 'bar' },
    encoding: {
      x: barX(oneSize),
      xOffset: { field: 'kind', type: 'nominal' },
      y: { field: 'MBps', type: 'quantitative', title: 'MB/s (1e6 bytes)' },
      color: colour,
      opacity: {
        field: 'kind',
        type: 'ordinal',
        title: 'bytes',
        scale: { domain: ['payloadMBps', 'wireMBps'], range: [1, 0.45] },
        legend: { labelExpr: "datum.label == 'wireMBps' ? 'wire' : 'payload'" },
      },
    },
  };
}

/** Several sizes: payload MB/s solid, wire dashed, on a log scale. */
function mbpsLines(rows: readonly SummaryRow[], x: ReturnType<typeof sizeAxis>, colour: Colour) {
  const mbTicks = decades(rows.flatMap((r) => [r.payloadMBps, r.wireMBps]));
  return {
    ...PANEL,
    title: 'MB/s (solid: payload, dashed: wire)',
    transform: [{ fold: ['payloadMBps', 'wireMBps'], as: ['kind', 'MBps'] }],
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y: {
        field: 'MBps',
        type: 'quantitative',
        title: 'MB/s (1e6 bytes, log scale)',
        scale: { type: 'log' as const },
        axis: { values: mbTicks, format: '~s' },
      },
      color: colour,
      strokeDash: {
        field: 'kind',
        type: 'nominal',
        title: 'bytes',
        scale: { domain: ['payloadMBps', 'wireMBps'], range: [[1, 0], [6, 3]] },
        legend: {
          symbolType: 'stroke',
          symbolSize: 400,
          labelExpr: "datum.label == 'wireMBps' ? 'wire' : 'payload'",
          // vega-lite fills a stroke symbol and leaves its stroke out: draw the line itself.
          encode: {
            symbols: {
              update: { stroke: { value: '#333' }, strokeWidth: { value: 2 }, fill: { value: 'transparent' } },
            },
          },
        },
      },
      detail: { field: 'kind' },
    },
  };
}

/** The header share's line at one half. One datum each, else the rule and its words are drawn once per row of the data. */
const HALF_OF_THE_WIRE = [
  {
    data: { values: [{}] },
    mark: { type: 'rule', strokeDash: [4, 3], color: '#666' },
    encoding: { y: { datum: 0.5 } },
  },
  {
    data: { values: [{}] },
    mark: { type: 'text', align: 'left', dx: 4, dy: -6, fontSize: 10, color: '#444' },
    encoding: { y: { datum: 0.5 }, x: { value: 0 }, text: { value: 'half of the wire bytes' } },
  },
];

export interface ComparisonPoint {
  sizeBytes: number;
  /** What was compared (payload size; receivers and size for chat runs). */
  point: string;
  ratio: number;
  /** Null when there was no noise estimate: no band is drawn. */
  noise: number | null;
  verdict: string;
}

/**
 * B/A ratio of msgs/s (or deliveries/s) per point, with the noise band around 1:
 * one line over every point, the verdict as the point's colour (the same
 * colour for a verdict in every chart); against payload size, or, when points
 * share a size (a chat sweep), one per point in order.
 */
export function compareChartSpec(points: readonly ComparisonPoint[], title: string, unit = 'msgs/s'): TopLevelSpec {
  const values = points.map((p, order) => ({
    ...p,
    order,
    low: p.noise === null ? null : 1 - p.noise,
    high: p.noise === null ? null : 1 + p.noise,
  }));
  // Against payload size when each point is a size; else (a chat sweep, a single point) one per point in order.
  const bySize = points.length > 1 && new Set(points.map((p) => p.sizeBytes)).size === points.length;
  const x = bySize
    ? sizeAxis(points.map((p) => p.sizeBytes))
    : { field: 'point', type: 'ordinal' as const, title: null, sort: null, axis: { labelAngle: 0 } };
  const verdicts = Object.keys(VERDICT_COLOURS);
  const y = {
    field: 'low',
    type: 'quantitative' as const,
    title: `${unit}, B / A (band: noise)`,
    scale: { zero: false },
  };
  return {
    $schema: SCHEMA,
    title,
    width: 560,
    height: 260,
    data: { values },
    config: CONFIG,
    layer: [
      bySize
        ? { mark: { type: 'area', opacity: 0.2, color: '#8c8c8c' }, encoding: { x, y, y2: { field: 'high' } } }
        : {
            mark: { type: 'rule', strokeWidth: 10, opacity: 0.25, color: '#8c8c8c' },
            encoding: { x, y, y2: { field: 'high' } },
          },
      { data: { values: [{}] }, mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { y: { datum: 1 } } },
      {
        mark: { type: 'line', color: '#555' },
        encoding: { x, y: { field: 'ratio', type: 'quantitative' }, order: { field: 'order' } },
      },
      {
        mark: { type: 'point', filled: true, size: 90, opacity: 1 },
        encoding: {
          x,
          y: { field: 'ratio', type: 'quantitative' },
          color: {
            field: 'verdict',
            type: 'nominal',
            title: 'difference',
            scale: { domain: verdicts, range: verdicts.map((v) => VERDICT_COLOURS[v]!) },
          },
        },
      },
    ],
  };
}

/** What a chat chart needs of a summary row (chat-result.ts's ChatSummaryRow). */
export interface ChatChartRow {
  variant: string;
  receivers: number;
  sizeBytes: number;
  deliveriesPerSec: number;
  p99Us: number;
}

/**
 * Deliveries/s to receivers and p99 delivery latency, one line per target: against
 * receivers (log scale) when the run swept them, else against payload size;
 * the other dimension, if it varies too, as the line's dash; bars per target
 * when the run has one point.
 */
export function chatChartSpec(rows: readonly ChatChartRow[], title: string): TopLevelSpec {
  const receivers = [...new Set(rows.map((r) => r.receivers))].sort((a, b) => a - b);
  const sizes = new Set(rows.map((r) => r.sizeBytes));
  const bySize = receivers.length === 1 && sizes.size > 1;
  const onePoint =
    receivers.length === 1 && sizes.size === 1 ? `${receivers[0]} receivers, ${formatSize(rows[0]!.sizeBytes)}` : null;
  const values = rows.map((r) => ({
    variant: r.variant,
    receivers: r.receivers,
    sizeBytes: r.sizeBytes,
    size: formatSize(r.sizeBytes),
    deliveriesPerSec: Math.round(r.deliveriesPerSec),
    p99Ms: r.p99Us / 1000,
  }));
  const x = bySize
    ? sizeAxis(rows.map((r) => r.sizeBytes))
    : {
        field: 'receivers',
        type: 'quantitative' as const,
        title: 'receivers (log scale)',
        scale: { type: 'log' as const },
        axis: { values: receivers, labelOverlap: false, labelFlush: false, grid: false },
      };
  const colour = { field: 'variant', type: 'nominal' as const, title: 'target' };
  const dash =
    !bySize && sizes.size > 1
      ? { strokeDash: { field: 'size', type: 'nominal' as const, title: 'payload' }, detail: { field: 'size' } }
      : {};
  const chatPanel = (field: string, heading: string, axisTitle: string, log: boolean) =>
    panel(
      heading,
      onePoint,
      x,
      {
        field,
        type: 'quantitative' as const,
        title: onePoint ? axisTitle.replace(' (log scale)', '') : axisTitle,
        ...(log && !onePoint
          ? { scale: { type: 'log' as const }, axis: { values: decades(rows.map((r) => r.p99Us / 1000)) } }
          : {}),
      },
      colour,
      { encoding: dash },
    );
  return grid(title, values, [
    chatPanel('deliveriesPerSec', 'deliveries per second to receivers', 'deliveries/s', false),
    chatPanel('p99Ms', 'p99 delivery latency', 'ms (log scale)', true),
  ]);
}
