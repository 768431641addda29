/**
 * A progress display for training loops on stderr: one line redrawn in place on a terminal,
 * a plain line every N steps elsewhere (CI logs, pipes). It shows step/total, epoch, chosen
 * metrics, steps per second, elapsed time and an ETA. It takes host numbers: read device
 * values every few steps (see `History.flush`), never every step.
 * @module
 */
import { cpuUsage } from "node:process";

/** Options of `Progress`. */
export interface ProgressOptions {
  /** Steps in the whole run, for the percentage and the ETA. */
  total?: number;
  /** The step the run starts at (a resumed run's step), so the rate counts only this session's steps. */
  start?: number;
  /** Off a terminal, print a line every `every` steps (default 10) and at the last step. */
  every?: number;
  /** Redraw one line in place (default: whether stderr is a terminal). */
  tty?: boolean;
  /** Where text goes (default: stderr). */
  write?: (text: string) => void;
  /** The clock, in ms (default `performance.now`). */
  now?: () => number;
}

/** What a progress line shows besides the step. */
export interface ProgressInfo {
  /** The epoch (0-based; shown 1-based). */
  epoch?: number;
  /** Metric values by name, e.g. `{ loss: 0.31, acc: 0.91 }`. */
  metrics?: Record<string, number>;
}

/**
 * CPU seconds this process has used so far, all threads (user + system).
 *
 * @returns Seconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cpuSeconds } from "@wax/wax/models";
 * assert(cpuSeconds() > 0);
 * ```
 */
export function cpuSeconds(): number {
  const u = cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/** A metric value in at most 4 significant digits. */
export function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

/**
 * A progress line for a training loop.
 *
 * @example Plain lines every 2 steps, into a string
 * ```ts
 * import assert from "node:assert";
 * import { Progress } from "@wax/wax/models";
 * let out = "";
 * let t = 0;
 * const p = new Progress({ total: 4, every: 2, tty: false, write: (s) => (out += s), now: () => t });
 * for (let step = 1; step <= 4; step++) {
 *   t += 500;
 *   p.update(step, { epoch: 0, metrics: { loss: 1 / step } });
 * }
 * assert.match(out, /^step 2\/4 \(50%\) {2}epoch 1 {2}loss 0\.5 {2}\| 2\.00 step\/s {2}elapsed 0:01 {2}eta 0:01\n/);
 * ```
 */
export class Progress {
  #opts: ProgressOptions;
  #tty: boolean;
  #write: (text: string) => void;
  #now: () => number;
  #t0: number;
  #lastDraw = -Infinity;
  #last = "";
  #info: ProgressInfo = {};

  /**
   * A progress display; its clock starts now.
   * @param opts total, start, every, tty, write, now.
   */
  constructor(opts: ProgressOptions = {}) {
    this.#opts = opts;
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
    const encoder = new TextEncoder();
    this.#write = opts.write ?? ((text) => {
      const bytes = encoder.encode(text);
      for (let done = 0; done < bytes.length;) done += Deno.stderr.writeSync(bytes.subarray(done));
    });
    this.#now = opts.now ?? (() => performance.now());
    this.#t0 = this.#now();
  }

  /**
   * The line for `step` completed steps.
   *
   * @param step Steps completed so far.
   * @param info Epoch and metrics (the last ones given are kept when omitted).
   * @returns The text, without a newline.
   */
  format(step: number, info: ProgressInfo = this.#info): string {
    const { total, start = 0 } = this.#opts;
    const elapsed = (this.#now() - this.#t0) / 1000;
    const rate = elapsed > 0 ? (step - start) / elapsed : NaN;
    const parts = [total ? `step ${step}/${total} (${Math.floor((100 * step) / total)}%)` : `step ${step}`];
    if (info.epoch !== undefined) parts.push(`epoch ${info.epoch + 1}`);
    for (const [k, v] of Object.entries(info.metrics ?? {})) parts.push(`${k} ${formatMetric(v)}`);
    parts.push(`| ${Number.isFinite(rate) ? rate.toFixed(2) : "?"} step/s`, `elapsed ${formatDuration(elapsed)}`);
    if (total) parts.push(`eta ${formatDuration(rate > 0 ? (total - step) / rate : NaN)}`);
    return parts.join("  ");
  }

  /**
   * Whether `update(step)` will print a plain line (off a terminal, at every `every` steps and
   * the last): the moment to have fresh metrics at hand.
   *
   * @param step Steps completed.
   * @returns True when a line is due.
   */
  due(step: number): boolean {
    return !this.#tty && (step === this.#opts.total || step % (this.#opts.every ?? 10) === 0);
  }

  /**
   * Reports `step` completed steps: redraws the line on a terminal (at most 10 times a
   * second), else prints a line when `step` is a multiple of `every` or the last step.
   *
   * @param step Steps completed so far.
   * @param info Epoch and metrics; omitted fields keep their last values.
   */
  update(step: number, info: ProgressInfo = {}): void {
    this.#info = { ...this.#info, ...info };
    const last = step === this.#opts.total;
    if (this.#tty) {
      const t = this.#now();
      if (!last && t - this.#lastDraw < 100) return;
      this.#lastDraw = t;
      this.#last = this.format(step);
      this.#write(`\r${this.#last}\x1b[K`);
    } else if (this.due(step)) {
      this.#write(`${this.format(step)}\n`);
    }
  }

  /**
   * Prints a message on its own line without breaking the progress line.
   *
   * @param message The text.
   */
  log(message: string): void {
    if (this.#tty && this.#last) this.#write(`\r\x1b[K${message}\n${this.#last}\x1b[K`);
    else this.#write(`${message}\n`);
  }

  /** Ends the progress line (a newline on a terminal). */
  done(): void {
    if (this.#tty && this.#last) this.#write("\n");
    this.#last = "";
  }
}
