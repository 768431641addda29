/**
 * A checkpoint manager in the spirit of orbax's: numbered safetensors files in one folder,
 * written atomically, the last K kept, and a `latest` file that names the newest complete one
 * (so a crash in the middle of a save leaves the previous checkpoint in charge). Each file holds
 * a pytree (parameters, optimizer state, model state, PRNG key…) and, in its metadata, the step,
 * the epoch and the run's config, which `restore` compares before it loads anything.
 * @module
 */
import { join } from "node:path";
import { Array, load, loadMetadata, type PyTree, save } from "../../mod.ts";
import { writeAtomic } from "../data/sources.ts";

/** A checkpoint could not be found, or belongs to another model or run. */
export class CheckpointError extends Error {
  /** The error's name. */
  override name = "CheckpointError";
}

/** A run's identity: the model and the settings a resumed run must share (plain JSON values). */
export type RunConfig = Record<string, string | number | boolean | null>;

/** What `latest` and `restore` report of a checkpoint. */
export interface CheckpointInfo {
  /** The file. */
  path: string;
  /** Steps completed when it was saved. */
  step: number;
  /** The epoch of that step (0-based). */
  epoch: number;
  /** The config it was saved with. */
  config: RunConfig;
}

const NAME = /^step_(\d{8,})\.safetensors$/;
const fileName = (step: number) => `step_${String(step).padStart(8, "0")}.safetensors`;

/**
 * Saves and restores training state in a folder.
 *
 * @example Save, then restore into a tree of the same shape
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { CheckpointManager } from "@wax/wax/models";
 * const dir = await Deno.makeTempDir();
 * const ckpt = new CheckpointManager(dir, { keep: 2 });
 * const config = { model: "line", lr: 0.1 };
 * for (const step of [10, 20, 30]) await ckpt.save(step, { w: np.full([2], step) }, { epoch: 0, config });
 * assert.deepEqual(await ckpt.steps(), [20, 30]);
 * const { tree, step } = await ckpt.restore({ w: np.zeros([2]) }, config);
 * assert.equal(step, 30);
 * assert.deepEqual(await tree.w.tolist(), [30, 30]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class CheckpointManager {
  /** The folder. */
  readonly dir: string;
  /** How many checkpoints to keep. */
  readonly keep: number;

  /**
   * A manager for the checkpoints in `dir`.
   * @param dir The folder (created on the first save).
   * @param opts `keep`: how many of the newest checkpoints to keep (default 3).
   */
  constructor(dir: string, opts: { keep?: number } = {}) {
    const keep = opts.keep ?? 3;
    if (!(Number.isInteger(keep) && keep >= 1)) {
      throw new RangeError(`CheckpointManager: keep must be ≥ 1, got ${keep}`);
    }
    this.dir = dir;
    this.keep = keep;
  }

  /**
   * Saves `tree` as the checkpoint of `step`, points `latest` at it, then removes all but the
   * newest `keep` checkpoints, any of a higher step (left by an earlier run that this one
   * replaces), and temporary files that crashed saves left behind.
   *
   * @param step Steps completed.
   * @param tree The state: a tree of arrays, numbers, booleans and null in plain objects and lists.
   * @param info The epoch and the run's config.
   * @returns The file written.
   */
  async save(step: number, tree: unknown, info: { epoch: number; config: RunConfig }): Promise<string> {
    if (!(Number.isInteger(step) && step >= 0)) throw new RangeError(`CheckpointManager.save: bad step ${step}`);
    if (!isPyTree(tree)) throw new TypeError(`CheckpointManager.save: ${notPyTree(tree, "")}`);
    await Deno.mkdir(this.dir, { recursive: true });
    const path = join(this.dir, fileName(step));
    await save(path, tree, {
      "wax.step": String(step),
      "wax.epoch": String(info.epoch),
      "wax.config": JSON.stringify(info.config),
    });
    await writeAtomic(join(this.dir, "latest"), new TextEncoder().encode(`${fileName(step)}\n`));
    // Checkpoints of higher steps belong to a run this one replaced; of the rest, keep the newest.
    const steps = await this.steps();
    const older = steps.filter((s) => s <= step);
    const drop = [...steps.filter((s) => s > step), ...older.slice(0, Math.max(0, older.length - this.keep))];
    for (const s of drop) await Deno.remove(join(this.dir, fileName(s))).catch(() => {});
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isFile && e.name.startsWith(".") && e.name.endsWith(".tmp")) {
        await Deno.remove(join(this.dir, e.name)).catch(() => {});
      }
    }
    return path;
  }

  /** The steps of the checkpoint files present, ascending (empty when the folder is absent). */
  async steps(): Promise<number[]> {
    const out: number[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        const m = e.isFile ? NAME.exec(e.name) : null;
        if (m) out.push(Number(m[1]));
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return out.sort((a, b) => a - b);
  }

  async #info(path: string): Promise<CheckpointInfo | null> {
    try {
      const meta = await loadMetadata(path);
      const step = Number(meta["wax.step"]);
      if (!Number.isInteger(step)) return null;
      return { path, step, epoch: Number(meta["wax.epoch"]), config: JSON.parse(meta["wax.config"] ?? "{}") };
    } catch {
      return null;
    }
  }

  /**
   * The newest complete checkpoint: the one `latest` names, or, where `latest` is missing or
   * names a file that does not load, the highest step whose file has a valid header.
   *
   * @returns Its path, step, epoch and config; null when there is none.
   */
  async latest(): Promise<CheckpointInfo | null> {
    try {
      const name = (await Deno.readTextFile(join(this.dir, "latest"))).trim();
      if (NAME.test(name)) {
        const info = await this.#info(join(this.dir, name));
        if (info) return info;
      }
    } catch { /* no latest file: scan */ }
    for (const s of (await this.steps()).reverse()) {
      const info = await this.#info(join(this.dir, fileName(s)));
      if (info) return info;
    }
    return null;
  }

  /**
   * Loads the newest checkpoint after checking that it was saved with the same config and that
   * its tree has the structure, shapes and dtypes of `like` (a freshly initialised state).
   *
   * @param like A tree of the expected structure.
   * @param config This run's config; every key must match the saved one.
   * @returns The tree and where the run stood.
   */
  async restore<T>(like: T, config: RunConfig): Promise<CheckpointInfo & { tree: T }> {
    const info = await this.latest();
    if (!info) {
      throw new CheckpointError(`No checkpoint in ${this.dir} to resume from; run without --resume to start afresh`);
    }
    const keys = [...new Set([...Object.keys(config), ...Object.keys(info.config)])];
    const diff = keys.filter((k) => JSON.stringify(config[k]) !== JSON.stringify(info.config[k]));
    if (diff.length) {
      const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
      throw new CheckpointError(
        `Cannot resume from ${info.path}: it was saved by another run (` +
          diff.map((k) => `${k}: ${show(info.config[k])} there, ${show(config[k])} here`).join("; ") +
          `). Resume with the settings it was saved with, or use another --out to start afresh.`,
      );
    }
    const tree = await load<T>(info.path);
    const mismatch = compareTrees(like, tree, "");
    if (mismatch) {
      throw new CheckpointError(
        `Cannot resume from ${info.path}: its state does not fit this model (${mismatch}); use another --out`,
      );
    }
    return { ...info, tree };
  }
}

/** The first difference of structure, shape or dtype between two trees, or null. */
function compareTrees(want: unknown, got: unknown, path: string): string | null {
  const at = path || "the root";
  if (want instanceof Array) {
    if (!(got instanceof Array)) return `${at}: expected an array, found ${got === null ? "null" : typeof got}`;
    if (want.dtype !== got.dtype || want.shape.join() !== got.shape.join()) {
      return `${at}: expected ${want.dtype}[${want.shape}], found ${got.dtype}[${got.shape}]`;
    }
    return null;
  }
  if (want === null || typeof want !== "object") {
    return typeof want === typeof got || (want === null && got === null) ? null : `${at}: expected ${typeof want}`;
  }
  if (got === null || typeof got !== "object" || globalThis.Array.isArray(want) !== globalThis.Array.isArray(got)) {
    return `${at}: expected ${globalThis.Array.isArray(want) ? "a list" : "an object"}`;
  }
  const wk = Object.keys(want);
  const gk = Object.keys(got);
  const missing = wk.filter((k) => !gk.includes(k));
  const extra = gk.filter((k) => !wk.includes(k));
  if (missing.length || extra.length) {
    return `${at}: ` +
      [missing.length && `missing ${missing.join(", ")}`, extra.length && `unexpected ${extra.join(", ")}`]
        .filter(Boolean).join("; ");
  }
  for (const k of wk) {
    const r = compareTrees(
      Reflect.get(want, k),
      Reflect.get(got, k),
      path ? `${path}.${k}` : k,
    );
    if (r) return r;
  }
  return null;
}

/** Where `x` is not a pytree (a leaf other than an array, number, boolean, null or undefined), or null. */
function notPyTree(x: unknown, path: string): string | null {
  if (x === null || x === undefined || x instanceof Array || typeof x === "number" || typeof x === "boolean") {
    return null;
  }
  const at = path || "the root";
  if (globalThis.Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const r = notPyTree(x[i], path ? `${path}.${i}` : String(i));
      if (r) return r;
    }
    return null;
  }
  if (typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    for (const [k, v] of Object.entries(x)) {
      const r = notPyTree(v, path ? `${path}.${k}` : k);
      if (r) return r;
    }
    return null;
  }
  return `${at} is a ${typeof x === "object" ? x.constructor?.name ?? "object" : typeof x}, not an array, number, ` +
    `boolean, null, plain object or list`;
}

function isPyTree(x: unknown): x is PyTree {
  return notPyTree(x, "") === null;
}
