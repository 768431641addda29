/**
 * k-means clustering (k-means++ seeding, then Lloyd's iterations) of the rows of an array, and
 * of a data set's images. The DCGAN conditions on the clusters of the training images
 * (`clusters` in its configuration): a label-free split of the data into modes.
 * @module
 */
import { dirname, join } from "node:path";
import { type Array, jit, load, loadMetadata, np, random, save } from "../mod.ts";
import { cacheDir, type Dataset } from "./data/mod.ts";

/** Options of {@link kmeans}. */
export interface KmeansOptions {
  /** Randomness of the seeding. */
  key: Array;
  /** Most Lloyd iterations (default 30); stops earlier when no point changes cluster. */
  iters?: number;
  /**
   * Seed on this many evenly spaced rows (default: all rows); Lloyd's iterations then use every
   * row. k-means++ passes over the rows once per centre: on a subset of a few thousand rows,
   * seeding a large data set costs a fraction of that and places the centres about as well.
   */
  seedRows?: number;
}

/** What {@link kmeans} finds. */
export interface Kmeans {
  /** Cluster centres `[k, D]`. */
  centers: Array;
  /** The cluster of each row (`[N]`). */
  assign: Int32Array;
  /** Share of the rows in each cluster (`[k]`, sums to 1). */
  weights: Float64Array;
  /** Mean squared distance of a row to its centre. */
  inertia: number;
  /** Lloyd iterations run. */
  iters: number;
}

/** Squared distances `[N, k]` from rows `x` `[N, D]` (squared norms `xx` `[N, 1]`) to centres `c` `[k, D]`. */
function sqDistances(x: Array, xx: Array, c: Array): Array {
  return np.maximum(xx.sub(np.matmul(x, c.T).mul(2)).add(c.mul(c).sum(1).reshape([1, -1])), 0);
}

/**
 * Clusters the rows of `x` into `k` groups: k-means++ seeding (each new centre drawn with
 * probability proportional to the squared distance to the nearest centre so far), then Lloyd's
 * iterations (assign to the nearest centre, move each centre to its rows' mean; a centre left
 * without rows stays where it is).
 *
 * @param x Float32 `[N, D]`, N ≥ k.
 * @param k Number of clusters.
 * @param opts The seeding key and the most iterations.
 * @returns Centres, assignment, cluster weights, inertia.
 *
 * @example Two well-separated groups
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { kmeans } from "@wax/wax/models";
 * const x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]]);
 * const { assign, weights } = await kmeans(x, 2, { key: random.key(0) });
 * assert.equal(assign[0], assign[1]);
 * assert.equal(assign[2], assign[3]);
 * assert.notEqual(assign[0], assign[2]);
 * assert.deepEqual([...weights], [0.5, 0.5]);
 * ```
 */
export async function kmeans(x: Array, k: number, opts: KmeansOptions): Promise<Kmeans> {
  const all = x.shape[0];
  if (x.ndim !== 2 || !(Number.isInteger(k) && k >= 1 && k <= all)) {
    throw new RangeError(`kmeans: x must be [N, D] with N ≥ k ≥ 1, got x [${x.shape}] and k ${k}`);
  }
  const seedRows = Math.min(all, opts.seedRows ?? all);
  if (!(Number.isInteger(seedRows) && seedRows >= k)) {
    throw new RangeError(`kmeans: seedRows must be an integer ≥ k (${k}), got ${opts.seedRows}`);
  }
  const seeds = await seed(seedRows < all ? evenRows(x, seedRows) : x, k, opts.key);
  const fit = await lloyd(x, seeds, opts.iters ?? 30);
  const weights = new Float64Array(k);
  for (const a of fit.assign) weights[a] += 1 / all;
  return { ...fit, weights };
}

/** `count` rows of `x` spaced evenly from the first. */
function evenRows(x: Array, count: number): Array {
  const step = x.shape[0] / count;
  return np.take(x, np.array(Int32Array.from({ length: count }, (_, i) => Math.floor(i * step))), 0);
}

/** k-means++ seeding: `k` rows of `x`, each drawn with probability ∝ squared distance to the nearest so far. */
async function seed(x: Array, k: number, key: Array): Promise<Array> {
  const n = x.shape[0];
  const xx = x.mul(x).sum(1).reshape([n, 1]);
  const keys = random.split(key, k);
  const picks = [await random.randint(keys[0], [], 0, n).item()];
  let nearest = sqDistances(x, xx, np.take(x, np.array(picks, { dtype: "int32" }), 0)).reshape([n]);
  for (let j = 1; j < k; j++) {
    // log(0) = -inf never draws a row that is already a centre (or a duplicate of one).
    const next = await random.categorical(keys[j], np.log(nearest)).item();
    picks.push(next);
    const dNew = sqDistances(x, xx, np.take(x, np.array([next], { dtype: "int32" }), 0)).reshape([n]);
    nearest = np.minimum(nearest, dNew);
  }
  return np.take(x, np.array(picks, { dtype: "int32" }), 0);
}

/** The nearest centre of each row (int32 `[N]`). */
const nearestCenter = jit((x: Array, xx: Array, centers: Array) =>
  np.argmin(sqDistances(x, xx, centers), { axis: 1 }).astype("int32")
);

/** Each centre moved to the mean of its rows (one-hotᵀ · x over the counts); a centre without rows stays. */
const moveCenters = jit((x: Array, assign: Array, centers: Array) => {
  const k = centers.shape[0];
  const onehot = np.equal(assign.reshape([-1, 1]), np.arange(k, undefined, 1, { dtype: "int32" })).astype("float32");
  const counts = onehot.sum(0).reshape([k, 1]);
  return np.where(counts.greater(0), np.matmul(onehot.T, x).div(np.maximum(counts, 1)), centers);
});

/** Lloyd's iterations from `centers` until no row changes cluster, at most `maxIters`. */
async function lloyd(x: Array, centers: Array, maxIters: number) {
  const n = x.shape[0];
  const xx = x.mul(x).sum(1).reshape([n, 1]);
  let assign: Int32Array = new Int32Array(n);
  let iters = 0;
  for (; iters < maxIters; iters++) {
    const ids = nearestCenter(x, xx, centers);
    const next = await ids.data() as Int32Array;
    const changed = iters === 0 || next.some((v, i) => v !== assign[i]);
    assign = next;
    if (!changed) break;
    centers = moveCenters(x, ids, centers);
  }
  const inertia = await np.min(sqDistances(x, xx, centers), { axis: 1 }).mean().item();
  return { centers, assign, inertia, iters };
}

/** Options of {@link clusterImages}: those of {@link kmeans}, and where to keep the result. */
export interface ClusterImagesOptions extends KmeansOptions {
  /**
   * Folder in which the clustering is kept and found again for the same images, k, key and
   * settings (default: `kmeans/` in wax's cache folder; null: never kept).
   */
  cache?: string | null;
}

/** One step of the FNV-1a hash (start from 0x811c9dc5): `h` with the 32 bits of `v` mixed in. */
const fnvStep = (h: number, v: number) => Math.imul(h ^ v, 0x01000193) >>> 0;

/** FNV-1a hash of a string, as 8 hex digits. */
function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = fnvStep(h, s.charCodeAt(i));
  return h.toString(16).padStart(8, "0");
}

/**
 * k-means clusters of a data set's images (flattened pixels), for conditioning a generative model
 * on them without labels. The result is kept in `cache` (written atomically) and read back when
 * the same images (same source, size and pixel fingerprint), k, key and settings come again, so
 * a resumed or repeated run does not cluster again.
 *
 * @param data The images.
 * @param k Number of clusters.
 * @param opts The seeding key, the most iterations, the seeding rows and the cache folder.
 * @returns The clustering.
 *
 * @example Cluster 200 digits into 5 groups
 * ```ts ignore
 * import { random } from "@wax/wax";
 * import { clusterImages, loadMnist } from "@wax/wax/models";
 * const data = await loadMnist({ split: "test" });
 * const { weights } = await clusterImages(data, 5, { key: random.key(0) });
 * ```
 */
export async function clusterImages(data: Dataset, k: number, opts: ClusterImagesOptions): Promise<Kmeans> {
  const size = data.shape.reduce((a, b) => a * b, 1);
  const own = cacheDir();
  const dir = opts.cache !== undefined ? opts.cache : own ? join(own, "kmeans") : null;
  // What identifies the result: the images (a fingerprint of a strided sample of pixels), k, key, settings.
  let print = 0x811c9dc5;
  const stride = Math.max(1, Math.floor(data.images.length / 100_000));
  for (let i = 0; i < data.images.length; i += stride) print = fnvStep(print, data.images[i] * 255);
  const id = JSON.stringify({
    v: 1,
    source: data.source,
    size: data.size,
    shape: data.shape,
    print,
    k,
    key: [...await opts.key.data()],
    iters: opts.iters ?? 30,
    seedRows: opts.seedRows ?? data.size,
  });
  const file = dir ? join(dir, `${fnv(id)}.safetensors`) : null;
  if (file) {
    const meta = await loadMetadata(file).catch(() => null);
    if (meta?.["wax.kmeans"] === id) {
      const t = await load<{ centers: Array; assign: Array; weights: Array }>(file);
      return {
        centers: t.centers,
        assign: Int32Array.from(await t.assign.data()),
        weights: Float64Array.from(await t.weights.data()),
        inertia: Number(meta["wax.inertia"]),
        iters: Number(meta["wax.iters"]),
      };
    }
  }
  const r = await kmeans(np.array(data.images, { shape: [data.size, size] }), k, opts);
  // Weights go through float32 in the file; the cold result is rounded the same way, so both agree.
  const weights = Float64Array.from(Float32Array.from(r.weights));
  if (file) {
    await Deno.mkdir(dirname(file), { recursive: true });
    const tree = { centers: r.centers, assign: np.array(r.assign, { dtype: "int32" }), weights: np.array(weights) };
    await save(file, tree, { "wax.kmeans": id, "wax.inertia": String(r.inertia), "wax.iters": String(r.iters) });
  }
  return { ...r, weights };
}
