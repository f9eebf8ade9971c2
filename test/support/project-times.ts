// Vitest reporter that ends the run with each project's wall time (its first file queued to its
// last file done) and its slowest file, so a run that creeps toward its time budget shows where.
// Projects run side by side, so their times overlap; the last line is the whole run.
import type { Reporter, TestModule } from "vitest/node";

interface ProjectSpan { start: number; end: number; files: number; slowest: { file: string; ms: number } }

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export default class ProjectTimes implements Reporter {
  private runStart = Date.now();
  private readonly queued = new Map<string, number>();
  private readonly spans = new Map<string, ProjectSpan>();

  onTestRunStart(): void {
    this.runStart = Date.now();
    this.queued.clear();
    this.spans.clear();
  }

  onTestModuleQueued(module: TestModule): void {
    this.queued.set(module.moduleId, Date.now());
  }

  onTestModuleEnd(module: TestModule): void {
    const now = Date.now();
    const started = this.queued.get(module.moduleId) ?? this.runStart;
    const name = module.project.name || "default";
    const span = this.spans.get(name) ?? { start: started, end: now, files: 0, slowest: { file: "", ms: -1 } };
    span.start = Math.min(span.start, started);
    span.end = Math.max(span.end, now);
    span.files += 1;
    const d = module.diagnostic();
    const own = d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration;
    if (own > span.slowest.ms) span.slowest = { file: module.relativeModuleId, ms: own };
    this.spans.set(name, span);
  }

  onTestRunEnd(): void {
    if (this.spans.size === 0) return;
    const lines = ["", "Wall time per project:"];
    for (const [name, span] of [...this.spans].sort(([a], [b]) => a.localeCompare(b)))
      lines.push(`  ${name.padEnd(6)} ${seconds(span.end - span.start).padStart(8)}  ${span.files} file(s), slowest ${span.slowest.file} ${seconds(span.slowest.ms)}`);
    lines.push(`  whole run ${seconds(Date.now() - this.runStart)}`);
    console.log(lines.join("\n"));
  }
}
