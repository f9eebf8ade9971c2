// Latency statistics and the printed table of `npm run bench`. Figures are reported, never
// asserted: a benchmark informs, a timed test flakes.

export interface Series {
  name: string;
  path: string;
  samples: number[]; // milliseconds
  wallMs: number; // total wall time of the run, for throughput
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(series: Series): { p50: number; p95: number; p99: number; perSecond: number; n: number } {
  const sorted = [...series.samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    perSecond: series.samples.length / (series.wallMs / 1000),
    n: series.samples.length,
  };
}

/** Time `count` sequential calls of `op` after `warmup` unmeasured ones. */
export async function timeSeries(name: string, path: string, count: number, op: (i: number) => Promise<unknown>, warmup = 5): Promise<Series> {
  for (let i = 0; i < warmup; i++) await op(-1 - i);
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op(i);
    samples.push(performance.now() - t0);
  }
  return { name, path, samples, wallMs: performance.now() - start };
}

const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(2) : "—");

export function printTable(title: string, rows: Series[]): void {
  console.log(`\n${title}`);
  console.log("| operation | path | n | p50 ms | p95 ms | p99 ms | ops/s |");
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) {
    const s = summarize(row);
    console.log(`| ${row.name} | ${row.path} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | ${s.perSecond.toFixed(1)} |`);
  }
}

/** One line per operation: the full path against the direct path, as a ratio and an added p50. */
export function printComparison(pairs: { name: string; full: Series; direct: Series }[]): void {
  console.log("\n| operation | full p50 ms | direct p50 ms | ratio | added p50 ms |");
  console.log("|---|---|---|---|---|");
  for (const { name, full, direct } of pairs) {
    const f = summarize(full).p50;
    const d = summarize(direct).p50;
    console.log(`| ${name} | ${fmt(f)} | ${fmt(d)} | ${(f / d).toFixed(1)}× | ${fmt(f - d)} |`);
  }
}
