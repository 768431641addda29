/**
 * What the two GAN examples (`examples/dcgan.ts`, `examples/cgan.ts`) share beyond the training
 * kit: their own flags (`--width`, `--smooth`, `--decay`, `--ema`, `--truncation`, `--samples`)
 * and how they are read, the run's recorded configuration, and the first half of the closing
 * line (steps, time, last losses and accuracies, the last sample grid).
 * @module
 */
import type { Dataset } from "./data/mod.ts";
import { type ExtraFlag, type Flags, formatDuration, formatMetric, numberFlag, type RunConfig } from "./train/mod.ts";

/** The GAN examples' own flag values. */
export interface GanFlagValues {
  /** Channels of the compact nets. */
  width: number;
  /** One-sided label smoothing of D's real targets. */
  smooth: number;
  /** Decay of the moving average of G's weights (0: none). */
  ema: number;
  /** Scale of the latents of the pictures and scores (1: none). */
  trunc: number;
  /** Cosine-decay the learning rates over the run. */
  decay: boolean;
  /** Samples scored at the end (0: none). */
  samples: number;
}

/**
 * The GAN examples' own flags, with the defaults of the configuration they train.
 *
 * @param defaults The default width and moving-average decay.
 * @returns Extra flags for an `ExampleSpec`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ganFlags } from "@wax/wax/models";
 * assert.equal(ganFlags({ width: 32, ema: 0.999 }).ema.default, "0.999");
 * ```
 */
export function ganFlags(defaults: { width: number; ema: number }): Record<string, ExtraFlag> {
  return {
    width: { type: "string", default: String(defaults.width), arg: "N", help: "channels of the compact nets" },
    smooth: { type: "string", default: "0", arg: "X", help: "one-sided label smoothing of D's real targets" },
    decay: {
      type: "string",
      default: "cosine",
      choices: ["cosine", "none"],
      help: "learning rates: cosine decay to 0 over the run, or constant",
    },
    ema: {
      type: "string",
      default: String(defaults.ema),
      arg: "X",
      help: "decay of the moving average of G's weights that draws the pictures (0: none)",
    },
    truncation: {
      type: "string",
      default: "1",
      arg: "X",
      help: "scale of the latents of the pictures and scores (1: none; below 1 trades variety for clarity)",
    },
    samples: { type: "string", default: "1000", arg: "N", help: "samples scored at the end (0: no scoring)" },
  };
}

/**
 * Reads the flags of `ganFlags`; a bad value is a `FlagError` naming the flag and what it takes.
 *
 * @param flags Parsed flags of a spec that has `ganFlags`.
 * @returns Their values.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ganFlags, type Flags, readGanFlags } from "@wax/wax/models";
 * const extra = Object.fromEntries(Object.entries(ganFlags({ width: 32, ema: 0.999 })).map(([k, f]) => [k, f.default]));
 * const flags: Flags = { batch: 64, lr: 5e-4, seed: 0, out: "out", resume: false, every: 500, extra };
 * assert.deepEqual(readGanFlags(flags), { width: 32, smooth: 0, ema: 0.999, trunc: 1, decay: true, samples: 1000 });
 * ```
 */
export function readGanFlags(flags: Flags): GanFlagValues {
  return {
    width: numberFlag(flags, "width", (v) => Number.isInteger(v) && v >= 1, "an integer ≥ 1"),
    smooth: numberFlag(flags, "smooth", (v) => v >= 0 && v < 1, "a number in [0, 1)"),
    ema: numberFlag(flags, "ema", (v) => v >= 0 && v < 1, "a number in [0, 1)"),
    trunc: numberFlag(flags, "truncation", (v) => v > 0 && v <= 1, "a number in (0, 1]"),
    decay: flags.extra.decay !== "none",
    samples: numberFlag(flags, "samples", (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0"),
  };
}

/**
 * The configuration a GAN example records in its checkpoints (`--resume` refuses a different
 * one): the model's own fields, then the flags every GAN run has.
 *
 * @param model The model's fields (name, architecture, latent size…).
 * @param flags The parsed flags.
 * @param gan The GAN flags' values.
 * @param data The training set.
 * @returns The run's configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ganRunConfig } from "@wax/wax/models";
 * const flags = { batch: 64, lr: 5e-4, seed: 0, out: "out", resume: false, every: 500, extra: {} };
 * const gan = { width: 32, smooth: 0, ema: 0.999, trunc: 1, decay: true, samples: 0 };
 * const c = ganRunConfig({ model: "dcgan" }, flags, gan, { shape: [1, 28, 28] });
 * assert.equal(c.image, "1x28x28");
 * assert.equal(c.decay, "cosine");
 * ```
 */
export function ganRunConfig(
  model: RunConfig,
  flags: Flags,
  gan: GanFlagValues,
  data: Pick<Dataset, "shape">,
): RunConfig {
  return {
    ...model,
    image: data.shape.join("x"),
    batch: flags.batch,
    lr: flags.lr,
    smooth: gan.smooth,
    decay: gan.decay ? "cosine" : "none",
    ema: gan.ema,
    seed: flags.seed,
  };
}

/**
 * The start of a GAN example's closing line: steps, training time, the last losses and D's
 * accuracies, and the last sample grid.
 *
 * @param name The example's name.
 * @param run Steps (`start` > 0 when resumed), training seconds, the last logged metrics and sample grid.
 * @returns The text, ending in "; ".
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ganSummary } from "@wax/wax/models";
 * const s = ganSummary("dcgan", { stop: 10, start: 0, seconds: 65, last: { d: 1.2 }, sample: "a.png" });
 * assert.equal(s.slice(0, 42), "dcgan: 10 steps in 1:05; last D loss 1.2, ");
 * ```
 */
export function ganSummary(
  name: string,
  run: { stop: number; start: number; seconds: number; last: Record<string, number>; sample: string },
): string {
  const m = (k: string) => formatMetric(run.last[k] ?? NaN);
  return `${name}: ${run.stop} steps${run.start ? ` (resumed at step ${run.start})` : ""} in ${
    formatDuration(run.seconds)
  }; last D loss ${m("d")}, G loss ${m("g")}, D accuracy real ${m("accReal")} fake ${m("accFake")}; ` +
    `samples ${run.sample || "(none: nothing to do)"}; `;
}
