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
   * Seed on this many evenly spaced rows (default: all rows). k-means++ passes over the rows
   * once per centre: on a subset of a few thousand rows, seeding a large data set costs a
   * fraction of that and places the centres about as well.
   */
  seedRows?: number;
  /**
   * Run Lloyd's iterations on this many evenly spaced rows (default: all rows), then assign every
   * row to its nearest centre once. The centres are then the means of the fitted rows; on a large
   * data set a subset of tens of rows per cluster places them about as well, at a fraction of the cost.
   */
  fitRows?: number;
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

/**
 * Clusters the rows of `x` into `k` groups: k-means++ seeding (each new centre drawn with
 * probability proportional to the squared distance to the nearest centre so far), then Lloyd's
 * iterations (assign to the nearest centre, move each centre to its rows' mean; a centre left
 * without rows stays where it is).
 *
 * @param x Float32 `[N, D]`, N ≥ k.
 * @param k Number of clusters.
 * @param opts The seeding key, the most iterations and the rows to seed and fit on.
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
  const rowsOf = (name: "seedRows" | "fitRows") => {
    const rows = Math.min(all, opts[name] ?? all);
    if (!(Number.isInteger(rows) && rows >= k)) {
      throw new RangeError(`kmeans: ${name} must be an integer ≥ k (${k}), got ${opts[name]}`);
    }
    return rows;
  };
  const seedRows = rowsOf("seedRows"), fitRows = rowsOf("fitRows");
  const seeds = seed(evenRows(x, seedRows), k, opts.key);
  const fit = await lloyd(evenRows(x, fitRows), seeds, opts.iters ?? 30);
  // Every row at its nearest final centre (the fitted rows too, when the iterations ran out).
  const [ids, inertia] = nearestAndInertia(x, fit.centers);
  const assign = await ids.data() as Int32Array;
  const weights = new Float64Array(k);
  for (const a of assign) weights[a] += 1 / all;
  return { centers: fit.centers, assign, weights, inertia: await inertia.item(), iters: fit.iters };
}

/** `count` rows of `x` spaced evenly from the first (`x` itself when that is every row). */
function evenRows(x: Array, count: number): Array {
  if (count === x.shape[0]) return x;
  const step = x.shape[0] / count;
  return np.take(x, np.array(Int32Array.from({ length: count }, (_, i) => Math.floor(i * step))), 0);
}

/** One k-means++ draw: a row with probability ∝ `nearest` (its squared distance to the nearest centre), and the distances updated. */
const seedStep = jit((x: Array, nearest: Array, key: Array) => {
  // log(0) = -inf never draws a row that is already a centre (or a duplicate of one).
  const pick = random.categorical(key, np.log(nearest));
  const d = np.square(x.sub(np.take(x, pick.reshape([1]), 0))).sum(1);
  return [pick, np.minimum(nearest, d)];
});

/** k-means++ seeding: `k` rows of `x`, each drawn with probability ∝ squared distance to the nearest so far. */
function seed(x: Array, k: number, key: Array): Array {
  const n = x.shape[0];
  const keys = random.split(key, k);
  const first = random.randint(keys[0], [], 0, n);
  const picks = [first];
  let nearest = np.square(x.sub(np.take(x, first.reshape([1]), 0))).sum(1);
  for (let j = 1; j < k; j++) {
    const [pick, next] = seedStep(x, nearest, keys[j]);
    picks.push(pick);
    nearest = next;
  }
  return np.take(x, np.stack(picks).astype("int32"), 0);
}

/** Scores x·c − ‖c‖²/2 `[N, k]`: the largest is the nearest centre, as ‖x − c‖² = ‖x‖² − 2 (x·c − ‖c‖²/2). */
const scores = (x: Array, centers: Array) => np.matmul(x, centers.T).sub(centers.mul(centers).sum(1).mul(0.5));

/** The nearest centre of each row and the mean squared distance to it. */
const nearestAndInertia = jit((x: Array, centers: Array) => {
  const s = scores(x, centers);
  return [
    np.argmax(s, { axis: 1 }).astype("int32"),
    np.maximum(x.mul(x).sum(1).sub(np.max(s, { axis: 1 }).mul(2)), 0).mean(),
  ];
});

/**
 * One Lloyd iteration: the nearest centre of each row (int32 `[N]`), and each centre moved to the
 * mean of its rows (sums scattered by cluster over the counts; a centre without rows stays).
 */
const lloydStep = jit((x: Array, centers: Array) => {
  const [k, d] = centers.shape;
  const assign = np.argmax(scores(x, centers), { axis: 1 }).astype("int32");
  const sums = np.zeros([k, d]).at(assign).add(x);
  const counts = np.zeros([k]).at(assign).add(np.ones([x.shape[0]])).reshape([k, 1]);
  return [assign, np.where(counts.greater(0), sums.div(np.maximum(counts, 1)), centers)];
});

/** Lloyd's iterations from `centers` until no row changes cluster, at most `maxIters`. */
async function lloyd(x: Array, centers: Array, maxIters: number) {
  let assign: Int32Array | null = null;
  let iters = 0;
  while (iters < maxIters) {
    const [ids, moved] = lloydStep(x, centers);
    const next = await ids.data() as Int32Array;
    const changed = assign === null || next.some((v, i) => v !== assign![i]);
    assign = next;
    if (!changed) break; // the same rows: the moved centres are the same means
    centers = moved;
    iters++;
  }
  return { centers, iters };
}

/** Options of {@link clusterImages}: those of {@link kmeans}, the image resolution, and where to keep the result. */
export interface ClusterImagesOptions extends KmeansOptions {
  /**
   * Cluster the images averaged over blocks of `pool` × `pool` pixels (default 1: every pixel;
   * height and width must divide by it). Coarser images cluster about pool² times faster, by their
   * overall shapes; the centres are then at the coarser resolution.
   */
  pool?: number;
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
 * The settings `examples/dcgan.ts` clusters MNIST with: 14×14 images, seeded on 5,000 and fitted
 * on 20,000 of them, then every image assigned; under a second, where every pixel of all 60,000
 * images takes several.
 *
 * @example
 * ```ts ignore
 * import { random } from "@wax/wax";
 * import { clusterImages, loadMnist, MNIST_CLUSTERING } from "@wax/wax/models";
 * const found = await clusterImages(await loadMnist(), 100, { ...MNIST_CLUSTERING, key: random.key(0) });
 * ```
 */
export const MNIST_CLUSTERING: Readonly<Omit<ClusterImagesOptions, "key">> = {
  pool: 2,
  seedRows: 2_000,
  fitRows: 20_000,
  iters: 10,
};

/** Images `[N, C, H, W]` (flat) averaged over `p` × `p` blocks, as rows `[N, C·(H/p)·(W/p)]`. */
function pooled(data: Dataset, p: number): Array {
  const [c, h, w] = data.shape;
  if (p === 1) return np.array(data.images, { shape: [data.size, c * h * w] });
  const size = (h / p) * (w / p), out = new Float32Array(data.size * c * size);
  // One call a plane: V8 optimises a small function called often sooner than one long loop.
  for (let n = 0; n < data.size * c; n++) poolPlane(data.images, n * h * w, out, n * size, h, w, p);
  return np.array(out, { shape: [data.size, c * size] });
}

/** The mean of each `p` × `p` block of the `h` × `w` plane at `src`, written from `dst`. */
function poolPlane(im: Float32Array, src: number, out: Float32Array, dst: number, h: number, w: number, p: number) {
  const scale = 1 / (p * p);
  for (let i = 0, o = dst; i < h; i += p) {
    for (let j = 0; j < w; j += p, o++) {
      let acc = 0;
      for (let a = 0, q = src + i * w + j; a < p; a++, q += w) for (let b = 0; b < p; b++) acc += im[q + b];
      out[o] = acc * scale;
    }
  }
}

/**
 * k-means clusters of a data set's images (flattened pixels), for conditioning a generative model
 * on them without labels. The result is kept in `cache` (written atomically) and read back when
 * the same images (same source, size and pixel fingerprint), k, key and settings come again, so
 * a resumed or repeated run does not cluster again.
 *
 * @param data The images.
 * @param k Number of clusters.
 * @param opts The seeding key, the most iterations, the seeding and fitting rows, the pooling and the cache folder.
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
  const pool = opts.pool ?? 1, [, h, w] = data.shape;
  if (!(Number.isInteger(pool) && pool >= 1 && h % pool === 0 && w % pool === 0)) {
    throw new RangeError(`clusterImages: pool must be an integer ≥ 1 dividing the image size ${h}×${w}, got ${pool}`);
  }
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
    fitRows: opts.fitRows ?? data.size,
    pool,
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
  const r = await kmeans(pooled(data, pool), k, opts);
  // Weights go through float32 in the file; the cold result is rounded the same way, so both agree.
  const weights = Float64Array.from(Float32Array.from(r.weights));
  if (file) {
    await Deno.mkdir(dirname(file), { recursive: true });
    const tree = { centers: r.centers, assign: np.array(r.assign, { dtype: "int32" }), weights: np.array(weights) };
    await save(file, tree, { "wax.kmeans": id, "wax.inertia": String(r.inertia), "wax.iters": String(r.iters) });
  }
  return { ...r, weights };
}
