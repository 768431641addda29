/**
 * The upscaler: a small super-resolution network trained on MNIST pairs (each digit shrunk to
 * half size by 2×2 averaging, and the original). It upsamples its input bilinearly and adds a
 * residual that three 3×3 convolutions predict from it, so at initialisation it is exactly
 * bilinear and training can only learn what bilinear misses (sharp stroke edges). 4× is the net
 * applied twice. Nearest and bilinear upsampling, here for comparison, are the same wax code.
 * @module
 */
import { type Array, jit, np, type PyTree, random, valueAndGrad } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as optim from "../../optim/mod.ts";
import { batchStream, CheckpointManager, type Dataset, type RunConfig, TrainLog } from "../../models/mod.ts";
import { child, item, linearParams, type Loaded } from "./models.ts";

/** The upscaling methods the page compares. */
export const UPSCALE_METHODS = ["net", "bilinear", "nearest"] as const;
/** One of `UPSCALE_METHODS`. */
export type UpscaleMethod = typeof UPSCALE_METHODS[number];

/** Width of the network's hidden layers. */
export const SR_WIDTH = 16;

const residual = nn.serial(
  nn.conv2d(SR_WIDTH, 3, { padding: "SAME" }),
  nn.relu,
  nn.conv2d(SR_WIDTH, 3, { padding: "SAME" }),
  nn.relu,
  nn.conv2d(1, 3, { padding: "SAME", wInit: nn.zeros() }),
);

/** The network's parameters: three convolutions with a ReLU (no parameters) between each two. */
export type SrParams = nn.LayerParams<typeof residual>;

/**
 * The network's parameters from a loaded pytree, checked.
 *
 * @param t The pytree (a list of five: conv, null, conv, null, conv).
 * @param where What it is, for the message.
 * @returns The parameters.
 */
export function srParams(t: PyTree, where: string): SrParams {
  const conv = (i: number) => linearParams(item(t, i, where), `${where}[${i}]`);
  return [conv(0), null, conv(2), null, conv(4)];
}

/**
 * The matrix `[factor·n, n]` of bilinear upsampling along one axis with half-pixel centres
 * (output pixel i samples the input at (i + ½)/factor − ½, clamped to the edges).
 *
 * @param n Input length.
 * @param factor Upsampling factor.
 * @returns Row-major weights.
 */
export function bilinearMatrix(n: number, factor: number): Float32Array {
  const m = n * factor;
  const a = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const s = Math.min(n - 1, Math.max(0, (i + 0.5) / factor - 0.5));
    const lo = Math.floor(s);
    const hi = Math.min(n - 1, lo + 1);
    a[i * n + lo] += 1 - (s - lo);
    a[i * n + hi] += s - lo;
  }
  return a;
}

/**
 * Upsamples square images `[N, 1, n, n]` by `factor` bilinearly (half-pixel centres).
 *
 * @param x The images.
 * @param factor The factor.
 * @returns `[N, 1, n·factor, n·factor]`.
 */
export function bilinear(x: Array, factor: number): Array {
  const n = x.shape[3];
  const a = np.array(bilinearMatrix(n, factor), { shape: [n * factor, n] });
  return np.matmul(np.matmul(a, x), a.T);
}

/**
 * Upsamples images `[N, 1, n, n]` by repeating each pixel `factor` times each way.
 *
 * @param x The images.
 * @param factor The factor.
 * @returns `[N, 1, n·factor, n·factor]`.
 */
export function nearest(x: Array, factor: number): Array {
  return np.repeat(np.repeat(x, factor, 2), factor, 3);
}

/** Averages each `factor × factor` block: the downsampling the net was trained to undo. */
export function downsample(x: Array, factor: number): Array {
  const [b, c, h, w] = x.shape;
  return x.reshape([b, c, h / factor, factor, w / factor, factor]).mean([3, 5]);
}

/** The network's 2× upsampling of images `[N, 1, n, n]` in [0, 1] (not clipped; differentiable). */
export function srApply(params: SrParams, x: Array): Array {
  const up = bilinear(x, 2);
  return up.add(residual.apply(params, up));
}

const srJit = jit((params: SrParams, x: Array) => np.clip(srApply(params, x), 0, 1));

/**
 * Upscales images `[N, 1, n, n]` in [0, 1] by 2 or 4 with one of the methods.
 *
 * @param params The network's parameters (used by "net").
 * @param x The images.
 * @param opts `factor` (2 or 4) and `method`.
 * @returns `[N, 1, n·factor, n·factor]` in [0, 1].
 */
export function upscale(params: SrParams, x: Array, opts: { factor: 2 | 4; method: UpscaleMethod }): Array {
  const { factor, method } = opts;
  if (method === "nearest") return nearest(x, factor);
  if (method === "bilinear") return np.clip(bilinear(x, factor), 0, 1);
  const twice = srJit(params, x);
  return factor === 2 ? twice : srJit(params, twice);
}

/** Mean PSNR in dB of images against references (both `[N, 1, H, W]` in [0, 1]), per image then averaged. */
export async function psnr(x: Array, ref: Array): Promise<number> {
  const mse = await np.square(np.clip(x, 0, 1).sub(ref)).reshape([x.shape[0], -1]).mean(1).data();
  let sum = 0;
  for (const m of mse) sum += 10 * Math.log10(1 / Math.max(m, 1e-10));
  return sum / mse.length;
}

/** The upscaler's PSNR against the test set's originals, beside bilinear's, at 2× and 4×. */
export interface UpscaleScore {
  /** Test images scored. */
  images: number;
  /** 2×: the net's mean PSNR, bilinear's, in dB. */
  x2: { net: number; bilinear: number };
  /** 4×: the same. */
  x4: { net: number; bilinear: number };
}

/**
 * Scores the net on test images: each original is shrunk 2× (4×) by block averaging and
 * brought back by the net and by bilinear upsampling; PSNR against the original.
 *
 * @param params The net.
 * @param test Test images in [0, 1].
 * @param limit How many to score (default all).
 * @returns The mean PSNRs.
 */
export async function scoreUpscaler(params: SrParams, test: Dataset, limit = test.size): Promise<UpscaleScore> {
  const n = Math.min(limit, test.size);
  const sums = { n2: 0, b2: 0, n4: 0, b4: 0 };
  const batch = 250;
  for (let at = 0; at < n; at += batch) {
    const m = Math.min(batch, n - at);
    const hr = np.array(test.images.subarray(at * 784, (at + m) * 784), { shape: [m, 1, 28, 28] });
    const lr2 = downsample(hr, 2);
    const lr4 = downsample(lr2, 2);
    sums.n2 += m * await psnr(upscale(params, lr2, { factor: 2, method: "net" }), hr);
    sums.b2 += m * await psnr(upscale(params, lr2, { factor: 2, method: "bilinear" }), hr);
    sums.n4 += m * await psnr(upscale(params, lr4, { factor: 4, method: "net" }), hr);
    sums.b4 += m * await psnr(upscale(params, lr4, { factor: 4, method: "bilinear" }), hr);
  }
  return {
    images: n,
    x2: { net: sums.n2 / n, bilinear: sums.b2 / n },
    x4: { net: sums.n4 / n, bilinear: sums.b4 / n },
  };
}

/** The upscaler's parameters and score. */
export interface Upscaler {
  /** The network. */
  params: SrParams;
  /** Its test PSNR beside bilinear's. */
  score: UpscaleScore;
  /** Where it was loaded from. */
  source: string;
}

/**
 * Trains the net on `steps` batches of train pairs, scores it on the test set, and saves both
 * in `dir` (the score goes into the checkpoint's config).
 *
 * @param dir The checkpoint folder.
 * @param opts Steps, train and test images in [0, 1], how many test images to score, seed.
 * @returns The upscaler.
 */
export async function trainUpscaler(
  dir: string,
  opts: { steps: number; train: Dataset; test: Dataset; scoreImages?: number; seed?: number; quiet?: boolean },
): Promise<Upscaler> {
  const { steps, seed = 0 } = opts;
  const [kInit, kData] = random.split(random.key(seed), 2);
  let params = residual.init(kInit, [1, 1, 28, 28]).params;
  const opt = optim.adam(optim.cosineDecay(3e-3, steps));
  let optState = opt.init(params);
  type Result = [SrParams, typeof optState, Array];
  const step = jit((p: SrParams, s: typeof optState, hr: Array): Result => {
    const lossOf = (q: SrParams) => np.square(srApply(q, downsample(hr, 2)).sub(hr)).mean();
    const [loss, g] = valueAndGrad(lossOf)(p);
    const [u, next] = opt.update(g, s, p);
    return [optim.applyUpdates(p, u), next, loss];
  });
  const progress = opts.quiet ? { write: () => {} } : undefined;
  const log = await TrainLog.open({ out: `${dir}/..`, names: ["mse"], total: steps, progress, title: "upscaler" });
  for await (const b of batchStream(opts.train, { batchSize: 32, key: kData, steps })) {
    const [p, s, loss] = step(params, optState, b.x);
    [params, optState] = [p, s];
    await log.step(b.step + 1, b.epoch, { mse: loss });
  }
  log.done();
  const score = await scoreUpscaler(params, opts.test, opts.scoreImages);
  const config: RunConfig = { model: "upscaler", width: SR_WIDTH, steps, seed, score: JSON.stringify(score) };
  const path = await new CheckpointManager(dir, { keep: 1 }).save(steps, { params }, { epoch: 0, config });
  return { params, score, source: path };
}

/**
 * The upscaler from a loaded checkpoint.
 *
 * @param ckpt The checkpoint `trainUpscaler` saved.
 * @returns The upscaler.
 */
export function upscalerFrom(ckpt: Loaded): Upscaler {
  const where = `${ckpt.path} (params)`;
  return { params: srParams(child(ckpt.tree, "params", ckpt.path), where), score: parseScore(ckpt), source: ckpt.path };
}

/** The score saved in an upscaler checkpoint's config (JSON text), checked. */
function parseScore(ckpt: Loaded): UpscaleScore {
  const bad = (why: string) =>
    new Error(`studio: ${ckpt.path} is not an upscaler checkpoint: ${why}; run with --retrain`);
  let v: unknown;
  try {
    v = JSON.parse(String(ckpt.config.score));
  } catch {
    throw bad("its config has no score");
  }
  const num = (o: unknown, k: string): number => {
    const x = typeof o === "object" && o !== null ? Reflect.get(o, k) : undefined;
    if (typeof x !== "number") throw bad(`score.${k} is not a number`);
    return x;
  };
  const pair = (k: string) => {
    const o = typeof v === "object" && v !== null ? Reflect.get(v, k) : undefined;
    return { net: num(o, "net"), bilinear: num(o, "bilinear") };
  };
  return { images: num(v, "images"), x2: pair("x2"), x4: pair("x4") };
}
