/** Numbers for people, shared by the reports, the progress bars and the reference scripts. */

/** Bytes: 16 B, 1 KiB, 64 KiB, 1 MiB (binary units where they divide evenly). */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** 1234567.8 -> 1,234,568 */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Microseconds, in µs below a millisecond and in ms above. */
export function fmtUs(us: number): string {
  if (us >= 100_000) return `${fmtInt(us / 1000)} ms`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)} ms`;
  return `${us >= 100 ? us.toFixed(0) : us.toFixed(1)} µs`;
}

/** Megabytes per second with three significant digits or so; thousands separated (2,718). */
export function fmtMB(n: number): string {
  return n >= 100 ? fmtInt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** 0.1234 -> 12.3% */
export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Rates with a decimal prefix: 2.50 M, 12.3 k. */
export function fmtRate(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

/** `1 message`, `2 messages`: the count and the noun, in the number it needs. */
export function plural(count: number, noun: string, many = `${noun}s`): string {
  return count === 1 ? noun : many;
}
