/**
 * The parts of a training script that every example shares: `runExample` (flags, backend,
 * clear errors with exit codes) and `TrainLog` (metrics read every few steps, the progress
 * line, and the loss history in the output folder).
 * @module
 */
import { join } from "node:path";
import { type Array, useBackend } from "../../mod.ts";
import { DataError } from "../data/sources.ts";
import { webgpuIdle } from "../../core/backend/webgpu/mod.ts";
import { CheckpointError } from "./checkpoint.ts";
import { type ExampleSpec, FlagError, type Flags, parseFlags, usage } from "./flags.ts";
import { History } from "./history.ts";
import { Progress, type ProgressOptions } from "./progress.ts";

/**
 * Runs an example's `main` with its parsed flags. `--help` prints the usage and returns (exit
 * status 0); an unknown flag or a bad value (also a `FlagError` that `main` throws from its own
 * checks of the example's flags) prints the usage and the reason to stderr and exits with status
 * 2; a missing data set or an unusable checkpoint prints its message (no stack trace) and exits
 * with status 1. `--backend` is applied before `main` runs.
 *
 * @param spec The example's name, summary, defaults and own flags.
 * @param main The training script.
 * @param args The command line (default `Deno.args`).
 * @returns When `main` is done.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { runExample } from "@wax/wax/models";
 * const spec = { name: "toy", summary: "A toy.", defaults: { steps: 10, batch: 8, lr: 0.1, every: 5 } };
 * let steps = 0;
 * await runExample(spec, async (flags) => void (steps = flags.steps!), ["--steps", "4"]);
 * assert.equal(steps, 4);
 * ```
 */
export async function runExample(
  spec: ExampleSpec,
  main: (flags: Flags) => Promise<void>,
  args: string[] = Deno.args,
): Promise<void> {
  const me = `examples/${spec.name}.ts`;
  let flags: Flags | "help";
  try {
    flags = parseFlags(spec, args);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    console.error(`${usage(spec)}\n${me}: ${e.message}`);
    Deno.exit(2);
  }
  if (flags === "help") {
    console.log(usage(spec));
    return;
  }
  try {
    if (flags.backend) await useBackend(flags.backend);
  } catch (e) {
    console.error(`${me}: --backend ${flags.backend}: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
  try {
    await main(flags);
  } catch (e) {
    // Let the GPU finish what it was given first: Mesa's software Vulkan driver crashes when the
    // process exits while it is still compiling or running a kernel.
    await webgpuIdle();
    if (e instanceof FlagError) { // an example's own check of its flags' values
      console.error(`${usage(spec)}\n${me}: ${e.message}`);
      Deno.exit(2);
    }
    if (!(e instanceof DataError || e instanceof CheckpointError)) throw e;
    console.error(`${me}: ${e.message}`);
    Deno.exit(1);
  }
}

/** Options of `TrainLog.open`. */
export interface TrainLogOptions {
  /** The run's output folder: `losses.csv` and `losses.png` go there. */
  out: string;
  /** The metric names. */
  names: string[];
  /** Steps in the whole run. */
  total: number;
  /** The step the run starts at; above 0, the history in `out` is continued up to it. */
  start?: number;
  /** Read the metrics back every this many steps (default 10). */
  logEvery?: number;
  /** Options of the progress line (by default a plain line every 5 logging intervals). */
  progress?: ProgressOptions;
  /** Title of the curves in `losses.png` (default "training"). */
  title?: string;
}

/**
 * A training run's log: metrics accumulate on the device and are read every `logEvery` steps;
 * the progress line shows them; `save` writes the history as `losses.csv` and `losses.png`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { TrainLog } from "@wax/wax/models";
 * const out = await Deno.makeTempDir();
 * const log = await TrainLog.open({ out, names: ["loss"], total: 4, logEvery: 2, progress: { write: () => {} } });
 * for (let step = 1; step <= 4; step++) await log.step(step, 0, { loss: np.array(step) });
 * await log.save();
 * assert.match(await Deno.readTextFile(`${out}/losses.csv`), /\n2,0,[0-9.]+,1\.5\n4,0,[0-9.]+,3\.5\n$/);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export class TrainLog {
  /** The metric history. */
  readonly history: History;
  /** The progress line. */
  readonly progress: Progress;
  #opts: TrainLogOptions;
  #last: Record<string, number> | null = null;

  private constructor(opts: TrainLogOptions, history: History) {
    const logEvery = opts.logEvery ?? 10;
    this.#opts = { ...opts, logEvery };
    this.history = history;
    this.progress = new Progress({ total: opts.total, start: opts.start, every: logEvery * 5, ...opts.progress });
  }

  /**
   * Opens the log of a run in `out` (created if absent); a resumed run (`start` > 0) continues
   * the rows of `losses.csv` up to `start`.
   *
   * @param opts The folder, metric names, length, start and intervals.
   * @returns The log.
   */
  static async open(opts: TrainLogOptions): Promise<TrainLog> {
    await Deno.mkdir(opts.out, { recursive: true });
    const history = new History(opts.names);
    if ((opts.start ?? 0) > 0) {
      const csv = await Deno.readTextFile(join(opts.out, "losses.csv")).catch(() => null);
      if (csv) history.restore(csv, opts.start!);
    }
    return new TrainLog(opts, history);
  }

  /**
   * Records one step: adds its metrics (device arrays are not read here), reads the interval's
   * means every `logEvery` steps, at the last step and when the progress line prints, and
   * updates the progress line.
   *
   * @param step Steps completed (1 after the first step).
   * @param epoch The epoch of that step.
   * @param metrics The step's metrics by name.
   * @returns The interval's means when they were read, else null.
   */
  async step(
    step: number,
    epoch: number,
    metrics: Record<string, Array | number>,
  ): Promise<Record<string, number> | null> {
    this.history.add(metrics);
    let values: Record<string, number> | null = null;
    if (step % this.#opts.logEvery! === 0 || step === this.#opts.total || this.progress.due(step)) {
      values = await this.history.flush(step, epoch);
      if (values) this.#last = values;
    }
    this.progress.update(step, { epoch, metrics: this.#last ?? undefined });
    return values;
  }

  /** The last metric means read (null before the first read). */
  get last(): Record<string, number> | null {
    return this.#last;
  }

  /**
   * Prints a message without breaking the progress line.
   *
   * @param message The text.
   */
  log(message: string): void {
    this.progress.log(message);
  }

  /**
   * Writes the history (`losses.csv`) and its curves (`losses.png`) into the output folder.
   *
   * @returns The paths written.
   */
  save(): Promise<string[]> {
    return this.history.save(this.#opts.out, { title: this.#opts.title });
  }

  /** Ends the progress line. */
  done(): void {
    this.progress.done();
  }
}
