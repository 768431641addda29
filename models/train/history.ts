/**
 * Metric history of a training run: values accumulate on the device step by step and are read
 * back once per logging interval (one sync every k steps, not every step); each interval's
 * means become a row of a CSV file (`losses.csv`) that a resumed run continues, drawn as curves
 * (`losses.png`) with the project's plotter.
 * @module
 */
import { join } from "node:path";
import type { Array } from "../../mod.ts";
import { writeAtomic } from "../data/sources.ts";
import { Plot } from "../plot/mod.ts";

/** One logging interval: the means of the metrics over its steps. */
export interface HistoryRow {
  /** Steps completed at the end of the interval. */
  step: number;
  /** The epoch of its last step (0-based). */
  epoch: number;
  /** Training time so far, in seconds (summed over resumed sessions). */
  seconds: number;
  /** Mean of each metric over the interval. */
  values: Record<string, number>;
}

/**
 * The metric history of a run.
 *
 * @example Accumulate two steps, read once
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { History } from "@wax/wax/models";
 * const h = new History(["loss"]);
 * h.add({ loss: np.array(1) });
 * h.add({ loss: np.array(3) });
 * assert.deepEqual(await h.flush(2, 0), { loss: 2 });
 * assert.match(h.toCsv(), /^step,epoch,seconds,loss\n2,0,[0-9.]+,2\n$/);
 * ```
 */
export class History {
  /** The metric names, in column order. */
  readonly names: string[];
  /** The rows so far. */
  readonly rows: HistoryRow[] = [];
  #sums = new Map<string, Array | number>();
  #count = 0;
  #t0 = performance.now();
  #before = 0;

  /**
   * An empty history.
   * @param names The metric names (CSV columns).
   */
  constructor(names: string[]) {
    for (const n of names) {
      if (!/^[A-Za-z_][\w.]*$/.test(n)) {
        throw new Error(`History: metric name ${JSON.stringify(n)} must be a plain identifier`);
      }
    }
    this.names = names;
  }

  /**
   * Adds one step's metrics (device arrays or numbers); nothing is read back here.
   *
   * @param metrics A value for each name.
   */
  add(metrics: Record<string, Array | number>): void {
    for (const n of this.names) {
      const v = metrics[n];
      if (v === undefined) throw new Error(`History.add: no value for ${n}; got ${Object.keys(metrics).join(", ")}`);
      const s = this.#sums.get(n);
      this.#sums.set(n, s === undefined ? v : typeof s === "number" && typeof v === "number" ? s + v : addAny(s, v));
    }
    this.#count++;
  }

  /** Steps added since the last flush. */
  get pending(): number {
    return this.#count;
  }

  /**
   * Reads the means of the metrics added since the last flush, appends them as a row and
   * returns them (null when nothing was added).
   *
   * @param step Steps completed.
   * @param epoch The current epoch.
   * @returns The means by name.
   */
  async flush(step: number, epoch: number): Promise<Record<string, number> | null> {
    if (this.#count === 0) return null;
    const values: Record<string, number> = {};
    const reads = this.names.map(async (n) => {
      const s = this.#sums.get(n)!;
      values[n] = (typeof s === "number" ? s : await s.item()) / this.#count;
    });
    await Promise.all(reads);
    this.#sums.clear();
    this.#count = 0;
    const seconds = this.#before + (performance.now() - this.#t0) / 1000;
    const ordered = Object.fromEntries(this.names.map((n) => [n, values[n]]));
    this.rows.push({ step, epoch, seconds, values: ordered });
    return ordered;
  }

  /** The history as CSV: `step,epoch,seconds,<names...>`, one row per interval. */
  toCsv(): string {
    const head = ["step", "epoch", "seconds", ...this.names].join(",");
    const lines = this.rows.map((r) =>
      [r.step, r.epoch, Number(r.seconds.toFixed(3)), ...this.names.map((n) => r.values[n])].join(",")
    );
    return [head, ...lines].join("\n") + "\n";
  }

  /**
   * Takes over the rows of an earlier session's CSV up to `step` (a resumed run drops the rows
   * written after its checkpoint), and continues its clock.
   *
   * @param csv The text of `losses.csv`.
   * @param step The step the run resumes at.
   */
  restore(csv: string, step: number): void {
    const [head, ...lines] = csv.trim().split("\n");
    const cols = head.split(",");
    const want = ["step", "epoch", "seconds", ...this.names];
    if (cols.join() !== want.join()) {
      throw new Error(`History.restore: the CSV has columns ${cols.join(",")}, expected ${want.join(",")}`);
    }
    this.rows.length = 0;
    for (const line of lines) {
      const v = line.split(",").map(Number);
      if (v[0] > step) break;
      this.rows.push({
        step: v[0],
        epoch: v[1],
        seconds: v[2],
        values: Object.fromEntries(this.names.map((n, i) => [n, v[3 + i]])),
      });
    }
    this.#before = this.rows.at(-1)?.seconds ?? 0;
    this.#t0 = performance.now();
  }

  /**
   * The curves of the metrics against the step, one line each with a legend.
   *
   * @param opts `title` (default "training").
   * @returns The plot (render or save it).
   */
  plot(opts: { title?: string } = {}): Plot {
    const steps = this.rows.map((r) => r.step);
    const plot = new Plot({ title: opts.title ?? "training", xLabel: "step", legend: "top-right" });
    for (const n of this.names) plot.line(steps, this.rows.map((r) => r.values[n]), { label: n });
    return plot;
  }

  /**
   * Writes `losses.csv` and the curves, `losses.png`, into `dir` atomically.
   *
   * @param dir The run's output folder.
   * @param opts `title` of the curves.
   * @returns The paths written.
   */
  async save(dir: string, opts: { title?: string } = {}): Promise<string[]> {
    const csv = join(dir, "losses.csv");
    const png = join(dir, "losses.png");
    await writeAtomic(csv, new TextEncoder().encode(this.toCsv()));
    await this.plot(opts).save(png, { width: 640, height: 400 });
    return [csv, png];
  }
}

/** The sum of two metric values, at least one of them an array. */
function addAny(a: Array | number, b: Array | number): Array {
  if (typeof a !== "number") return a.add(b);
  if (typeof b !== "number") return b.add(a);
  throw new Error("History: internal error: two numbers reached the array sum");
}
