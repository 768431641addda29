/**
 * Shuffled batches from an explicit key: one epoch (`batches`), or a resumable stream over
 * epochs (`batchStream`) whose data order depends only on the key and the step.
 * @module
 */
import { type Array, np, random } from "../../mod.ts";
import type { Dataset } from "./mnist.ts";

/** One batch: images and their labels. */
export interface Batch {
  /** Images `[B, C, H, W]` (float32). */
  x: Array;
  /** Labels `[B]` (int32). */
  y: Array;
}

/** Options of `batches`. */
export interface BatchOptions {
  /** Examples per batch. */
  batchSize: number;
  /** The key that draws the order; use it for nothing else. Without a key the order is the data set's. */
  key?: Array;
  /** Drop the last, partial batch (default true: every batch has the same shape, so a jitted step compiles once). */
  dropLast?: boolean;
  /** The batch to start at, for a resumed epoch (default 0). */
  start?: number;
}

/**
 * A random permutation of `0..n-1` drawn from `key`, computed on the host (the order of
 * `n` random 32-bit words, ties broken by index).
 *
 * @param key A PRNG key.
 * @param n The length.
 * @returns The permutation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { shuffled } from "@wax/wax/data";
 * const p = await shuffled(random.key(0), 5);
 * assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4]);
 * ```
 */
export async function shuffled(key: Array, n: number): Promise<Int32Array> {
  const bits = await random.bits(key, [n]).data();
  const order = Int32Array.from({ length: n }, (_, i) => i);
  return order.sort((a, b) => bits[a] - bits[b] || a - b);
}

/**
 * The number of batches in one epoch.
 *
 * @param size Examples in the data set.
 * @param opts `batchSize` and `dropLast` (default true).
 * @returns ⌊size / batchSize⌋ with `dropLast`, else ⌈size / batchSize⌉.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { batchesPerEpoch } from "@wax/wax/data";
 * assert.equal(batchesPerEpoch(10, { batchSize: 4 }), 2);
 * assert.equal(batchesPerEpoch(10, { batchSize: 4, dropLast: false }), 3);
 * ```
 */
export function batchesPerEpoch(size: number, opts: { batchSize: number; dropLast?: boolean }): number {
  const { batchSize, dropLast = true } = opts;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(`batches: batchSize must be a positive integer, got ${batchSize}`);
  }
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

function gather(data: Dataset, order: Int32Array, from: number, to: number): Batch {
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  const n = to - from;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const i = order[from + j];
    x.set(data.images.subarray(i * per, (i + 1) * per), j * per);
    y[j] = data.labels[i];
  }
  return { x: np.array(x, { shape: [n, ...data.shape] }), y: np.array(y) };
}

/**
 * Batches for one epoch: shuffled in the order drawn from `key`, or in order without one.
 *
 * @param data The data set.
 * @param opts `batchSize`, `key`, `dropLast` (default true), `start`.
 * @returns The batches, images and labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { batches, loadMnist } from "@wax/wax/data";
 * const data = await loadMnist({ split: "test", limit: 70 });
 * let n = 0;
 * for await (const b of batches(data, { batchSize: 32, key: random.key(0), dropLast: false })) n += b.y.shape[0];
 * assert.equal(n, 70);
 * ```
 */
export async function* batches(data: Dataset, opts: BatchOptions): AsyncGenerator<Batch> {
  const count = batchesPerEpoch(data.size, opts);
  const order = opts.key ? await shuffled(opts.key, data.size) : Int32Array.from({ length: data.size }, (_, i) => i);
  for (let b = opts.start ?? 0; b < count; b++) {
    yield gather(data, order, b * opts.batchSize, Math.min(data.size, (b + 1) * opts.batchSize));
  }
}

/** Options of `batchStream`. */
export interface StreamOptions {
  /** Examples per batch. */
  batchSize: number;
  /** The data key: epoch `e` is shuffled with `random.foldIn(key, e)`; use it for nothing else. */
  key: Array;
  /** Drop each epoch's last, partial batch (default true). */
  dropLast?: boolean;
  /** The step to start at (a resumed run's step; default 0). */
  start?: number;
  /** Stop before this step (default: never). */
  steps?: number;
}

/** A batch of a stream, with its place in the run. */
export interface StreamBatch extends Batch {
  /** The step this batch is for (0-based). */
  step: number;
  /** Its epoch (0-based). */
  epoch: number;
}

/**
 * Batches over epochs, each epoch shuffled with a key folded from `key` and the epoch, so the
 * batch of step `s` depends only on `key` and `s`: a run resumed at step `s` (`start: s`) sees
 * exactly the batches an uninterrupted run sees.
 *
 * @param data The data set.
 * @param opts `batchSize`, `key`, `dropLast`, `start`, `steps`.
 * @returns The batches, with step and epoch.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { batchStream, loadMnist } from "@wax/wax/data";
 * const data = await loadMnist({ split: "test", limit: 10 });
 * const epochs = [];
 * for await (const b of batchStream(data, { batchSize: 4, key: random.key(0), steps: 5 })) epochs.push(b.epoch);
 * assert.deepEqual(epochs, [0, 0, 1, 1, 2]);
 * ```
 */
export async function* batchStream(data: Dataset, opts: StreamOptions): AsyncGenerator<StreamBatch> {
  const per = batchesPerEpoch(data.size, opts);
  if (per === 0) {
    throw new RangeError(
      `batchStream: batch size ${opts.batchSize} is larger than the data set (${data.size} examples) and dropLast ` +
        `drops every batch; use a smaller batch or dropLast: false`,
    );
  }
  const start = opts.start ?? 0;
  const end = opts.steps ?? Infinity;
  for (let epoch = Math.floor(start / per), step = start; step < end; epoch++) {
    const first = step - epoch * per;
    for await (const b of batches(data, { ...opts, key: random.foldIn(opts.key, epoch), start: first })) {
      yield { ...b, step, epoch };
      if (++step >= end) return;
    }
  }
}
