/**
 * Autoencoders for 28×28 images with pixels in [0, 1]: an encoder squeezes an image into a
 * small code, a decoder recreates it through a sigmoid. Dense or convolutional; trained on the
 * Bernoulli cross-entropy of the pixels (the stable form on logits). With `noise` it is a
 * denoising autoencoder: the step corrupts its input with noise drawn from the step's key and
 * learns to give back the clean image. Reconstruction errors score anomalies.
 * @module
 */
import { type Array, jit, np, random, type tree, valueAndGrad } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";
import { Canvas, Plot, type Rgba, textWidth } from "./plot/mod.ts";

/** The two architectures. */
export type AeArch = "dense" | "conv";

/** Input corruption of a denoising autoencoder. */
export interface Noise {
  /** "gaussian": add `level`·N(0, 1) and clip to [0, 1]; "mask": zero each pixel with probability `level`. */
  kind: "gaussian" | "mask";
  /** The standard deviation (gaussian) or the probability of masking a pixel (mask). */
  level: number;
}

/** The autoencoder's shape and training. */
export interface AutoencoderConfig {
  /** "dense" (784–512–256–code) or "conv" (two strided convolutions each way). */
  arch: AeArch;
  /** Size of the code (default 32). */
  code: number;
  /** Input noise in training (null: a plain autoencoder). */
  noise: Noise | null;
}

/** Parameters: the encoder (image → code) and the decoder (code → logits of the pixels). */
export type AeParams = { enc: tree.PyTree; dec: tree.PyTree };

/** Training state: the parameters and Adam's state. */
export type AeState = { params: AeParams; opt: [optim.AdamState, optim.CountState] };

/** Options of `makeAutoencoder`. */
export interface AutoencoderOptions extends Partial<AutoencoderConfig> {
  /** Adam's learning rate (default 2e-3). */
  learningRate?: number;
  /** Steps over which the learning rate decays to 0 along a cosine (default: constant). */
  decaySteps?: number;
  /** Image shape `[C, H, W]` (default [1, 28, 28]). */
  imageShape?: number[];
}

/** An autoencoder: init, a jitted train step, and the jitted maps between images and codes. */
export interface Autoencoder {
  /** The configuration. */
  config: AutoencoderConfig;
  /** Fresh parameters and optimizer state. */
  init(key: Array): AeState;
  /**
   * One Adam step on clean images `x` `[B, C, H, W]` in [0, 1]; `key` draws the input noise.
   * Returns the new state (the old one is donated) and the mean loss (cross-entropy per pixel)
   * and mean squared error per pixel of the reconstructions against `x`.
   */
  step(state: AeState, x: Array, key: Array): [AeState, { loss: Array; mse: Array }];
  /** Codes `[B, code]` of images `[B, C, H, W]`. */
  encode(params: AeParams, x: Array): Array;
  /** Images `[B, C, H, W]` in [0, 1] of codes `[B, code]`. */
  decode(params: AeParams, z: Array): Array;
  /** `decode(encode(x))`. */
  reconstruct(params: AeParams, x: Array): Array;
  /** Mean squared error of each image's reconstruction against `target` (default `x`), `[B]`. */
  errors(params: AeParams, x: Array, target?: Array): Array;
}

/**
 * Parses a noise flag: `gaussian:0.5` or `mask:0.5`.
 *
 * @param spec The text.
 * @returns The noise.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseNoise } from "@wax/wax/models";
 * assert.deepEqual(parseNoise("mask:0.25"), { kind: "mask", level: 0.25 });
 * assert.throws(() => parseNoise("salt:0.1"));
 * ```
 */
export function parseNoise(spec: string): Noise {
  const m = /^(gaussian|mask):([0-9.eE+-]+)$/.exec(spec.trim());
  const level = m ? Number(m[2]) : NaN;
  if (!m || !(Number.isFinite(level) && level > 0) || (m[1] === "mask" && level >= 1)) {
    throw new Error(
      `parseNoise: expected gaussian:SIGMA (SIGMA > 0) or mask:P (0 < P < 1), got ${JSON.stringify(spec)}`,
    );
  }
  return { kind: m[1] === "mask" ? "mask" : "gaussian", level };
}

/**
 * Corrupts images in [0, 1]: Gaussian noise (`x + level·ε`, clipped to [0, 1]) or masking
 * noise (each pixel set to 0 with probability `level`).
 *
 * @param key The key that draws the noise.
 * @param x The images.
 * @param noise The kind and level.
 * @returns The noisy images, shaped like `x`.
 *
 * @example Masking keeps or zeroes pixels
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { addNoise } from "@wax/wax/models";
 * const y = await addNoise(random.key(0), np.ones([1000]), { kind: "mask", level: 0.5 }).data();
 * const zeros = y.filter((v) => v === 0).length;
 * assert(zeros > 400 && zeros < 600 && y.every((v) => v === 0 || v === 1));
 * ```
 */
export function addNoise(key: Array, x: Array, noise: Noise): Array {
  const { kind, level } = noise;
  if (kind === "gaussian") return np.clip(x.add(random.normal(key, x.shape).mul(level)), 0, 1);
  if (kind === "mask") return np.where(random.bernoulli(key, level, x.shape), 0, x);
  throw new Error(`addNoise: unknown noise kind ${JSON.stringify(kind)}; use gaussian or mask`);
}

// He initialisation keeps the signal's scale through the ReLU layers; with Glorot's, the conv
// variant's output barely depends on its input at first and training stalls for ~200 steps.
const he = { wInit: nn.heUniform() };
const conv = (c: number) => nn.conv2d(c, 4, { stride: 2, padding: "SAME", ...he });
const up = (c: number) => nn.convTranspose2d(c, 4, { stride: 2, padding: "SAME", ...he });

/** A network without state. */
type Net = nn.Layer<tree.PyTree, null>;

/** Encoder and decoder layers of an architecture (the decoder ends in logits). */
function aeLayers(
  arch: AeArch,
  code: number,
  imageShape: number[] = [1, 28, 28],
): { encoder: Net; decoder: Net } {
  const [c, h, w] = imageShape;
  if (arch === "dense") {
    return {
      encoder: nn.serial(nn.flatten(), nn.dense(512), nn.relu, nn.dense(256), nn.relu, nn.dense(code)),
      decoder: nn.serial(nn.dense(256), nn.relu, nn.dense(512), nn.relu, nn.dense(c * h * w), nn.reshape([c, h, w])),
    };
  }
  if (arch === "conv") {
    if (h % 4 || w % 4) throw new Error(`makeAutoencoder: the conv variant needs sides divisible by 4, got ${h}×${w}`);
    return {
      encoder: nn.serial(conv(32), nn.relu, conv(64), nn.relu, nn.flatten(), nn.dense(code, he)),
      decoder: nn.serial(
        nn.dense(64 * (h / 4) * (w / 4), he),
        nn.relu,
        nn.reshape([64, h / 4, w / 4]),
        up(32),
        nn.relu,
        up(c),
      ),
    };
  }
  throw new Error(`makeAutoencoder: unknown architecture ${JSON.stringify(arch)}; use "dense" or "conv"`);
}

/**
 * Builds an autoencoder.
 *
 * @param opts `arch` (default "conv"), `code` (default 32), `noise`, `learningRate`, `decaySteps`.
 * @returns init, step, encode, decode, reconstruct and errors.
 *
 * @example Shapes, and one step
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { makeAutoencoder } from "@wax/wax/models";
 * const ae = makeAutoencoder({ arch: "dense", code: 8 });
 * const state = ae.init(random.key(0));
 * const x = random.uniform(random.key(1), [4, 1, 28, 28]);
 * assert.deepEqual(ae.encode(state.params, x).shape, [4, 8]);
 * assert.deepEqual(ae.reconstruct(state.params, x).shape, [4, 1, 28, 28]);
 * const [next, m] = ae.step(state, x, random.key(2)); // `state` is donated: use `next`
 * assert(Number.isFinite(await m.loss.item()) && next.params !== undefined);
 * ```
 */
export function makeAutoencoder(opts: AutoencoderOptions = {}): Autoencoder {
  const config: AutoencoderConfig = { arch: opts.arch ?? "conv", code: opts.code ?? 32, noise: opts.noise ?? null };
  if (!(Number.isInteger(config.code) && config.code >= 1)) {
    throw new Error(`makeAutoencoder: code must be a positive integer, got ${config.code}`);
  }
  const imageShape = opts.imageShape ?? [1, 28, 28];
  const { encoder, decoder } = aeLayers(config.arch, config.code, imageShape);
  const lr = opts.learningRate ?? 2e-3;
  const opt = optim.adam(opts.decaySteps ? optim.cosineDecay(lr, opts.decaySteps) : lr);
  const logitsOf = (p: AeParams, x: Array) => decoder.apply(p.dec, encoder.apply(p.enc, x));

  const trainStep = (state: AeState, x: Array, key: Array): [AeState, { loss: Array; mse: Array }] => {
    const input = config.noise ? addNoise(key, x, config.noise) : x;
    const lossOf = (p: AeParams): [Array, Array] => {
      const logits = logitsOf(p, input);
      return [nn.bceWithLogits(logits, x), logits];
    };
    const [[loss, logits], grads] = valueAndGrad(lossOf, { hasAux: true })(state.params);
    const [updates, optState] = opt.update(grads, state.opt, state.params);
    const mse = nn.mse(nn.sigmoid(logits), x);
    return [{ params: optim.applyUpdates(state.params, updates), opt: optState }, { loss, mse }];
  };
  const errorsOf = jit((p: AeParams, x: Array, target: Array) => {
    const d = np.square(nn.sigmoid(logitsOf(p, x)).sub(target));
    return d.reshape(d.shape[0], -1).mean(1);
  });

  return {
    config,
    init(key: Array): AeState {
      const [ke, kd] = random.split(key);
      const e = encoder.init(ke, [1, ...imageShape]);
      const d = decoder.init(kd, e.outputShape);
      const params = { enc: e.params, dec: d.params };
      return { params, opt: opt.init(params) };
    },
    step: jit(trainStep, { donateArgnums: [0] }),
    encode: jit((p: AeParams, x: Array) => encoder.apply(p.enc, x)),
    decode: jit((p: AeParams, z: Array) => nn.sigmoid(decoder.apply(p.dec, z))),
    reconstruct: jit((p: AeParams, x: Array) => nn.sigmoid(logitsOf(p, x))),
    errors: (p: AeParams, x: Array, target?: Array) => errorsOf(p, x, target ?? x),
  };
}

/** One labelled row of `imageRows`. */
export interface ImageRow {
  /** The text left of the row. */
  label: string;
  /** Images `[n, 1, H, W]` in [0, 1]. */
  images: Array;
}

/**
 * Lays out rows of greyscale images, each with a label on the left, on a canvas (save it with
 * `savePng`): clean / noisy / denoised, or interpolation strips.
 *
 * @param rows The rows, top to bottom.
 * @param opts `scale` (pixels per image pixel, default 2), `pad` (default 4), `title`.
 * @returns The canvas.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { imageRows } from "@wax/wax/models";
 * const canvas = await imageRows([{ label: "zeros", images: np.zeros([3, 1, 28, 28]) }], { scale: 1 });
 * assert.deepEqual(canvas.get(canvas.width - 10, 10), [0, 0, 0, 255]);
 * ```
 */
export async function imageRows(
  rows: ImageRow[],
  opts: { scale?: number; pad?: number; title?: string } = {},
): Promise<Canvas> {
  const { scale = 2, pad = 4 } = opts;
  for (const r of rows) {
    if (r.images.ndim !== 4 || r.images.shape[1] !== 1) {
      throw new Error(`imageRows: row "${r.label}" has images [${r.images.shape}]; expected [n, 1, H, W]`);
    }
  }
  const [, , h, w] = rows[0].images.shape;
  const labelW = Math.max(...rows.map((r) => textWidth(r.label, scale))) + 2 * pad;
  const cols = Math.max(...rows.map((r) => r.images.shape[0]));
  const top = opts.title ? 10 * scale + pad : 0;
  const W = Math.max(labelW + cols * (w * scale + pad) + pad, textWidth(opts.title ?? "", scale) + 2 * pad);
  const H = top + rows.length * (h * scale + pad) + pad;
  const canvas = new Canvas(W, H);
  if (opts.title) canvas.text(opts.title, [W / 2, pad], { scale, align: "center", color: "#222" });
  for (const [i, r] of rows.entries()) {
    const px = await r.images.data();
    const y0 = top + pad + i * (h * scale + pad);
    canvas.text(r.label, [labelW - pad, y0 + (h * scale) / 2], {
      scale,
      align: "right",
      baseline: "middle",
      color: "#222",
    });
    for (let k = 0; k < r.images.shape[0]; k++) {
      const x0 = labelW + k * (w * scale + pad);
      canvas.shade({ x: x0, y: y0, width: w * scale, height: h * scale }, (x, y): Rgba => {
        const v = px[k * h * w + Math.floor((y - y0) / scale) * w + Math.floor((x - x0) / scale)];
        const g = Math.round(255 * Math.min(1, Math.max(0, v)));
        return [g, g, g, 255];
      });
    }
  }
  return canvas;
}

/**
 * The ROC curve of scores against binary labels: the false- and true-positive rates as the
 * threshold falls from above the highest score to below the lowest (tied scores move together,
 * so the area under these points is the AUROC with ties counting one half).
 *
 * @param scores A score per example (higher: more likely positive).
 * @param positive Whether each example is positive.
 * @returns `fpr` and `tpr`, from (0, 0) to (1, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rocCurve } from "@wax/wax/models";
 * const { fpr, tpr } = rocCurve([0.9, 0.4, 0.6, 0.1], [true, true, false, false]);
 * assert.deepEqual([...fpr], [0, 0, 0.5, 0.5, 1]);
 * assert.deepEqual([...tpr], [0, 0.5, 0.5, 1, 1]);
 * ```
 */
export function rocCurve(
  scores: ArrayLike<number>,
  positive: ArrayLike<boolean | number>,
): { fpr: Float64Array; tpr: Float64Array } {
  const n = scores.length;
  if (positive.length !== n) throw new Error(`rocCurve: ${n} scores for ${positive.length} labels`);
  const order = globalThis.Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[j] - scores[i]);
  let pos = 0;
  for (let i = 0; i < n; i++) if (positive[i]) pos++;
  const neg = n - pos;
  if (pos === 0 || neg === 0) throw new Error(`rocCurve: needs positives and negatives; got ${pos} and ${neg}`);
  const fpr = [0], tpr = [0];
  let tp = 0, fp = 0;
  for (let lo = 0; lo < n;) {
    let hi = lo;
    while (hi < n && scores[order[hi]] === scores[order[lo]]) {
      if (positive[order[hi]]) tp++;
      else fp++;
      hi++;
    }
    fpr.push(fp / neg);
    tpr.push(tp / pos);
    lo = hi;
  }
  return { fpr: Float64Array.from(fpr), tpr: Float64Array.from(tpr) };
}

/**
 * A plot of ROC curves with the diagonal of a random guess.
 *
 * @param curves One curve per entry: `label` (legend), `fpr`, `tpr`.
 * @param opts `title`.
 * @returns The plot (render or save it).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rocPlot } from "@wax/wax/models";
 * const plot = rocPlot([{ label: "a", fpr: [0, 0, 1], tpr: [0, 1, 1] }]);
 * assert.equal(plot.toCanvas({ width: 200, height: 200 }).width, 200);
 * ```
 */
export function rocPlot(
  curves: { label: string; fpr: ArrayLike<number>; tpr: ArrayLike<number> }[],
  opts: { title?: string } = {},
): Plot {
  const plot = new Plot({
    title: opts.title ?? "ROC curve",
    xLabel: "false positive rate",
    yLabel: "true positive rate",
    x: [0, 1],
    y: [0, 1],
    legend: "bottom-right",
  });
  plot.line([0, 1], [0, 1], { color: "#aaaaaa", width: 1, label: "chance" });
  for (const c of curves) plot.line(c.fpr, c.tpr, { label: c.label });
  return plot;
}

/**
 * A scatter plot of 2-d codes coloured by label, with a legend of the classes.
 *
 * @param codes The codes `[n, 2]`, row-major.
 * @param labels A class per code.
 * @param opts `title`, `names` of the classes.
 * @returns The plot (render or save it).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { codePlot } from "@wax/wax/models";
 * const plot = codePlot([0, 0, 1, 1], [0, 1]);
 * assert.equal(plot.toCanvas({ width: 200, height: 200 }).height, 200);
 * ```
 */
export function codePlot(
  codes: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: { title?: string; names?: string[] } = {},
): Plot {
  const n = labels.length;
  if (codes.length !== 2 * n) throw new Error(`codePlot: ${codes.length} values are not ${n} codes of 2`);
  const xs = Float64Array.from({ length: n }, (_, i) => codes[2 * i]);
  const ys = Float64Array.from({ length: n }, (_, i) => codes[2 * i + 1]);
  return new Plot({ title: opts.title ?? "2-d codes", xLabel: "code 1", yLabel: "code 2", legend: "right" })
    .scatter(xs, ys, { labels, names: opts.names, size: 1.6, alpha: 0.6 });
}
