/**
 * The flags every example shares, parsed with `node:util`'s `parseArgs`: `--epochs`, `--steps`,
 * `--batch`, `--lr`, `--seed`, `--backend`, `--out`, `--resume`, `--every`, `--help`, plus an
 * example's own. Bad input is a `FlagError` whose message says what was wrong.
 * @module
 */
import { parseArgs } from "node:util";
import type { BackendName } from "../../mod.ts";

/** An extra flag of one example. */
export interface ExtraFlag {
  /** "string" takes a value; "boolean" is a switch. */
  type: "string" | "boolean";
  /** The value when the flag is absent. */
  default?: string | boolean;
  /** One line for the usage text. */
  help: string;
  /** The value's placeholder in the usage text (default "X"). */
  arg?: string;
  /** The values a string flag accepts (any when absent). */
  choices?: string[];
}

/** What an example declares: its name, a summary, its defaults and its own flags. */
export interface ExampleSpec {
  /** The example's name: `examples/<name>.ts`, and the default output folder `out/<name>/`. */
  name: string;
  /** One or two sentences for the usage text. */
  summary: string;
  /** Default values; give `epochs` or `steps` as the default run length. */
  defaults: { epochs?: number; steps?: number; batch: number; lr: number; every: number; seed?: number };
  /** The example's own flags. */
  extra?: Record<string, ExtraFlag>;
}

/** Parsed flags. */
export interface Flags {
  /** Passes over the training set (given or default): the run's length, which schedules may depend on. */
  epochs?: number;
  /** Stop after this many steps (given, or the default of an example that counts steps). */
  steps?: number;
  /** Batch size. */
  batch: number;
  /** Learning rate. */
  lr: number;
  /** Random seed. */
  seed: number;
  /** The backend asked for (undefined: wax's default). */
  backend?: BackendName;
  /** Output folder. */
  out: string;
  /** Continue from the latest checkpoint in `out`. */
  resume: boolean;
  /** Samples and checkpoints every this many steps. */
  every: number;
  /** The example's own flags. */
  extra: Record<string, string | boolean | undefined>;
}

/** Bad command-line input; the message says what was wrong. */
export class FlagError extends Error {
  /** The error's name. */
  override name = "FlagError";
}

/**
 * A numeric extra flag of an example, checked by `ok`; anything else is a `FlagError` naming the
 * flag, what it must be (`what`) and the value given (the usage, the reason, exit status 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { type ExampleSpec, numberFlag, parseFlags } from "./flags.ts";
 * const spec: ExampleSpec = {
 *   name: "demo",
 *   summary: "",
 *   defaults: { batch: 8, lr: 1e-3, every: 10 },
 *   extra: { width: { type: "string", default: "8", help: "channels" } },
 * };
 * const flags = parseFlags(spec, ["--width", "16"]);
 * assert.ok(flags !== "help");
 * assert.equal(numberFlag(flags, "width", (v) => Number.isInteger(v) && v >= 1, "an integer ≥ 1"), 16);
 * ```
 */
export function numberFlag(flags: Flags, name: string, ok: (v: number) => boolean, what: string): number {
  const raw = String(flags.extra[name]);
  const v = Number(raw);
  if (raw.trim() === "" || !ok(v)) throw new FlagError(`--${name} must be ${what}, got ${JSON.stringify(raw)}`);
  return v;
}

/**
 * The usage text of an example.
 *
 * @param spec The example.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { usage } from "@wax/wax/models";
 * const text = usage({ name: "toy", summary: "A toy.", defaults: { steps: 10, batch: 8, lr: 0.1, every: 5 } });
 * assert.match(text, /--steps N +stop after N steps \(default 10\)/);
 * ```
 */
export function usage(spec: ExampleSpec): string {
  const d = spec.defaults;
  const rows: [string, string][] = [];
  rows.push(["--epochs N", `passes over the training set (default ${d.epochs ?? "as many as --steps needs"})`]);
  rows.push(["--steps N", `stop after N steps (default ${d.steps ?? "the end of the last epoch"})`]);
  rows.push(
    ["--batch N", `batch size (default ${d.batch})`],
    ["--lr X", `learning rate (default ${d.lr})`],
    ["--seed N", `random seed (default ${d.seed ?? 0})`],
    ["--backend NAME", "cpu or webgpu (default: webgpu on a hardware GPU, else cpu)"],
    ["--out DIR", `output folder (default out/${spec.name}/)`],
    ["--resume", "continue from the latest checkpoint in --out"],
    ["--every N", `samples and a checkpoint every N steps (default ${d.every})`],
  );
  for (const [k, f] of Object.entries(spec.extra ?? {})) {
    const dflt = f.default === undefined || f.default === false ? "" : ` (default ${f.default})`;
    const arg = f.arg ?? (f.choices ? f.choices.join("|") : "X");
    rows.push([f.type === "boolean" ? `--${k}` : `--${k} ${arg}`, f.help + dflt]);
  }
  rows.push(["--help", "print this and exit"]);
  const w = Math.max(...rows.map(([a]) => a.length)) + 2;
  return `Usage: deno run -A examples/${spec.name}.ts [flags]\n\n${spec.summary}\n\nFlags:\n` +
    rows.map(([a, b]) => `  ${a.padEnd(w)}${b}`).join("\n") + "\n";
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw new FlagError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Parses an example's flags. Returns "help" for `--help`; throws a `FlagError` for an unknown
 * flag, a missing value or a bad one (`--steps -3`, `--steps abc`, `--batch 0`).
 *
 * @param spec The example.
 * @param args The command line (`Deno.args`).
 * @returns The flags, or "help".
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { FlagError, parseFlags } from "@wax/wax/models";
 * const spec = { name: "toy", summary: "A toy.", defaults: { steps: 10, batch: 8, lr: 0.1, every: 5 } };
 * const flags = parseFlags(spec, ["--steps", "3", "--lr=0.5"]);
 * assert(flags !== "help" && flags.steps === 3 && flags.lr === 0.5 && flags.out === "out/toy/");
 * assert.throws(() => parseFlags(spec, ["--batch", "0"]), FlagError);
 * ```
 */
export function parseFlags(spec: ExampleSpec, args: string[]): Flags | "help" {
  const str = { type: "string" } as const;
  const options = {
    epochs: str,
    steps: str,
    batch: str,
    lr: str,
    seed: str,
    backend: str,
    out: str,
    every: str,
    resume: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    ...Object.fromEntries(Object.entries(spec.extra ?? {}).map(([k, f]) => [k, { type: f.type }])),
  } as const;
  // `--steps -3` is a bad value, not a missing one: hand a negative number on as the flag's value.
  const argv: string[] = [];
  const types = new Map<string, string>(Object.entries(options).map(([k, o]) => [`--${k}`, o.type]));
  for (let i = 0; i < args.length; i++) {
    if (types.get(args[i]) === "string" && /^-[\d.]/.test(args[i + 1] ?? "")) argv.push(`${args[i]}=${args[++i]}`);
    else argv.push(args[i]);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new FlagError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return "help";
  const s = (k: string) => {
    const v = values[k];
    return typeof v === "string" ? v : undefined;
  };
  const d = spec.defaults;
  const lr = s("lr") === undefined ? d.lr : Number(s("lr"));
  if (!(Number.isFinite(lr) && lr > 0) || s("lr")?.trim() === "") {
    throw new FlagError(`--lr must be a positive number, got ${JSON.stringify(s("lr"))}`);
  }
  const backend = s("backend");
  if (backend !== undefined && backend !== "cpu" && backend !== "webgpu") {
    throw new FlagError(`--backend must be cpu or webgpu, got ${JSON.stringify(backend)}`);
  }
  const out = s("out") ?? `out/${spec.name}/`;
  if (out.trim() === "") throw new FlagError("--out must be a folder name, got an empty string");
  const steps = int("steps", s("steps"), 1);
  const epochs = int("epochs", s("epochs"), 1);
  for (const [k, f] of Object.entries(spec.extra ?? {})) {
    const v = values[k];
    if (f.choices && typeof v === "string" && !f.choices.includes(v)) {
      throw new FlagError(`--${k} must be ${f.choices.join(" or ")}, got ${JSON.stringify(v)}`);
    }
  }
  return {
    epochs: epochs ?? d.epochs,
    steps: steps ?? (epochs === undefined ? d.steps : undefined),
    batch: int("batch", s("batch"), 1) ?? d.batch,
    lr,
    seed: int("seed", s("seed"), 0) ?? d.seed ?? 0,
    backend,
    out,
    resume: values.resume === true,
    every: int("every", s("every"), 1) ?? d.every,
    extra: Object.fromEntries(Object.entries(spec.extra ?? {}).map(([k, f]) => [k, values[k] ?? f.default])),
  };
}

/**
 * Where a run stops, in steps: after `--steps` steps, or at the end of its epochs, whichever
 * comes first.
 *
 * @param flags The parsed flags.
 * @param perEpoch Batches in one epoch.
 * @returns The number of steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { totalSteps } from "@wax/wax/models";
 * const base = { batch: 8, lr: 0.1, seed: 0, out: "o", resume: false, every: 5, extra: {} };
 * assert.equal(totalSteps({ ...base, epochs: 2 }, 100), 200);
 * assert.equal(totalSteps({ ...base, epochs: 2, steps: 50 }, 100), 50);
 * ```
 */
export function totalSteps(flags: Flags, perEpoch: number): number {
  const byEpochs = flags.epochs === undefined ? Infinity : flags.epochs * perEpoch;
  const n = Math.min(flags.steps ?? Infinity, byEpochs);
  if (!Number.isFinite(n)) throw new FlagError("give --steps or --epochs");
  return n;
}
