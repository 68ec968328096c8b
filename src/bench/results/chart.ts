/**
 * Charts as SVG: a vega-lite spec, compiled by vega-lite and rendered by
 * vega's headless View (no canvas needed for SVG).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { formatSize } from '../format.ts';
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

const SIZE_LABEL =
  "datum.value >= 1048576 ? datum.value / 1048576 + ' MiB' : datum.value >= 1024 ? datum.value / 1024 + ' KiB' : datum.value + ' B'";

/** Payload size on a log scale, ticks at the sizes measured (a one-size run gets a domain around it). */
function sizeAxis(sizes: readonly number[]) {
  const ticks = [...new Set(sizes)].sort((a, b) => a - b);
  const domain = ticks.length === 1 ? [ticks[0]! / 4, ticks[0]! * 4] : undefined;
  return {
    field: 'sizeBytes',
    type: 'quantitative' as const,
    title: 'payload size (bytes, log scale)',
    scale: { type: 'log' as const, base: 2, ...(domain ? { domain } : {}) },
    axis: { values: ticks, labelExpr: SIZE_LABEL, labelOverlap: false, labelFontSize: 9 },
  };
}

/** Panels side by side over one data set: the top level of every run chart. */
export function sideBySide(title: string, values: object[], panels: object[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    config: { view: { stroke: null }, font: 'sans-serif' },
    hconcat: panels,
  } as TopLevelSpec;
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
  const color = { field: 'variant', type: 'nominal' as const, title: 'server, header' };
  const sizeX = sizeAxis(rows.map((r) => r.sizeBytes));
  const point = { point: true };
  return sideBySide(title, values, [
      {
        width: 260,
        height: 220,
        title: 'messages per second',
        mark: { type: 'line', ...point },
        encoding: {
          x: sizeX,
          y: { field: 'msgsPerSec', type: 'quantitative', title: 'msgs/s' },
          color,
        },
      },
      {
        width: 260,
        height: 220,
        title: 'MB/s (solid: payload, dashed: wire)',
        transform: [{ fold: ['payloadMBps', 'wireMBps'], as: ['kind', 'MBps'] }],
        mark: { type: 'line', ...point },
        encoding: {
          x: sizeX,
          y: {
            field: 'MBps',
            type: 'quantitative',
            title: 'MB/s (1e6 bytes, log scale)',
            scale: { type: 'log' as const },
          },
          color,
          strokeDash: {
            field: 'kind',
            type: 'nominal',
            title: 'bytes',
            legend: {
              symbolType: 'stroke',
              symbolStrokeColor: 'black',
              symbolStrokeWidth: 2,
              symbolSize: 300,
              labelExpr: "datum.label == 'wireMBps' ? 'wire' : 'payload'",
            },
          },
          detail: { field: 'kind' },
        },
      },
      {
        width: 260,
        height: 220,
        title: 'header share of wire bytes (measured)',
        mark: { type: 'line', ...point },
        encoding: {
          x: sizeX,
          y: { field: 'headerShare', type: 'quantitative', title: 'header / wire', axis: { format: '.0%' } },
          color,
        },
      },
  ]);
}

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
 * against payload size, or, when points share a size (a chat sweep), one per point in order.
 */
export function compareChartSpec(points: readonly ComparisonPoint[], title: string, unit = 'msgs/s'): TopLevelSpec {
  const values = points.map((p) => ({
    ...p,
    low: p.noise === null ? null : 1 - p.noise,
    high: p.noise === null ? null : 1 + p.noise,
  }));
  const bySize = new Set(points.map((p) => p.sizeBytes)).size === points.length;
  const sizeX = bySize
    ? sizeAxis(points.map((p) => p.sizeBytes))
    : { field: 'point', type: 'ordinal' as const, title: null, sort: null, axis: { labelAngle: -30 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 240,
    data: { values },
    config: { font: 'sans-serif' },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2 },
        encoding: {
          x: sizeX,
          y: { field: 'low', type: 'quantitative', title: `${unit} ratio B / A (band: run-to-run noise)` },
          y2: { field: 'high' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { y: { datum: 1 } } },
      {
        mark: { type: 'line', point: { filled: true, size: 60 } },
        encoding: {
          x: sizeX,
          y: { field: 'ratio', type: 'quantitative' },
          color: { field: 'verdict', type: 'nominal', title: 'difference' },
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
 * the other dimension, if it varies too, as the line's dash.
 */
export function chatChartSpec(rows: readonly ChatChartRow[], title: string): TopLevelSpec {
  const receivers = [...new Set(rows.map((r) => r.receivers))].sort((a, b) => a - b);
  const bySize = receivers.length === 1 && new Set(rows.map((r) => r.sizeBytes)).size > 1;
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
        scale: {
          type: 'log' as const,
          ...(receivers.length === 1 ? { domain: [receivers[0]! / 2, receivers[0]! * 2] } : {}),
        },
        axis: { values: receivers, labelOverlap: false },
      };
  const color = { field: 'variant', type: 'nominal' as const, title: 'target' };
  const dash =
    !bySize && new Set(rows.map((r) => r.sizeBytes)).size > 1
      ? { strokeDash: { field: 'size', type: 'nominal' as const, title: 'payload' }, detail: { field: 'size' } }
      : {};
  const panel = (field: string, heading: string, axisTitle: string, log: boolean) => ({
    width: 300,
    height: 230,
    title: heading,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x,
      y: {
        field,
        type: 'quantitative' as const,
        title: axisTitle,
        ...(log ? { scale: { type: 'log' as const } } : {}),
      },
      color,
      ...dash,
    },
  });
  return sideBySide(title, values, [
    panel('deliveriesPerSec', 'deliveries per second to receivers', 'deliveries/s', false),
    panel('p99Ms', 'p99 delivery latency', 'ms (log scale)', true),
  ]);
}
