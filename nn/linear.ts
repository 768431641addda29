/**
 * Layers with weights: `dense`, `conv2d`, `convTranspose2d` (NCHW inputs, OIHW kernels, the
 * layout wax uses throughout) and `embedding`.
 * @module
 */
import { type Array, lax, np, random } from "../mod.ts";
import { glorotUniform, type Initializer, normal, zeros } from "./init.ts";
import { type Layer, shapeOf, type Size2 } from "./layer.ts";

/** Weight and bias of a dense or convolution layer (`b` is null without a bias). */
export type LinearParams = {
  /** The weight: `[in, out]` for dense, `[out, in, kh, kw]` for convolutions. */
  w: Array;
  /** The bias, `[out]`, or null. */
  b: Array | null;
};

/** Options shared by the layers with weights. */
export interface LinearOptions {
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Weight initializer (default `glorotUniform()`). */
  wInit?: Initializer;
  /** Bias initializer (default `zeros()`). */
  bInit?: Initializer;
}

function makeParams(
  key: Array,
  wShape: number[],
  fans: { fanIn: number; fanOut: number },
  out: number,
  o: LinearOptions,
) {
  const [kw, kb] = random.split(key);
  return {
    w: (o.wInit ?? glorotUniform())(kw, wShape, fans),
    b: o.useBias === false ? null : (o.bInit ?? zeros())(kb, [out], { fanIn: fans.fanIn, fanOut: out }),
  };
}

/**
 * Fully connected layer, `x @ w + b`, over the last axis (`[..., in] -> [..., features]`).
 *
 * @param features The number of outputs.
 * @param opts `useBias`, `wInit`, `bInit`.
 * @returns The layer; params `{ w: [in, features], b: [features] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { dense } from "@wax/wax/nn";
 * const fc = dense(3);
 * const { params } = fc.init(random.key(0), [2, 4]);
 * const y = fc.apply(params, np.ones([2, 4]));
 * assert(y.shape.join() === "2,3" && params.w.shape.join() === "4,3");
 * ```
 */
export function dense(features: number, opts: LinearOptions = {}): Layer<LinearParams, null> {
  return {
    init(key, inputShape) {
      const fanIn = inputShape[inputShape.length - 1];
      const params = makeParams(key, [fanIn, features], { fanIn, fanOut: features }, features, opts);
      return { params, state: null, outputShape: [...inputShape.slice(0, -1), features] };
    },
    apply: ({ w, b }, x) => (b ? x.matmul(w).add(b) : x.matmul(w)),
  };
}

const pair = (v: Size2): [number, number] => (typeof v === "number" ? [v, v] : v);

/** Options of `conv2d`. */
export interface Conv2dOptions extends LinearOptions {
  /** Stride (default 1). */
  stride?: Size2;
  /** "SAME", "VALID", a symmetric amount, or `[lo, hi]` per spatial axis (default "VALID"). */
  padding?: "SAME" | "VALID" | number | [[number, number], [number, number]];
  /** Kernel dilation (default 1). */
  dilation?: Size2;
}

const bias4 = (b: Array) => b.reshape(1, -1, 1, 1);

/** The init/apply pair shared by conv2d and convTranspose2d, around their `run(w, x)`. */
function convLayer(
  outChannels: number,
  kh: number,
  kw: number,
  opts: LinearOptions,
  run: (w: Array, x: Array) => Array,
): Layer<LinearParams, null> {
  return {
    init(key, inputShape) {
      const cin = inputShape[1];
      const field = kh * kw;
      const fans = { fanIn: cin * field, fanOut: outChannels * field };
      const params = makeParams(key, [outChannels, cin, kh, kw], fans, outChannels, opts);
      return { params, state: null, outputShape: shapeOf((x) => run(params.w, x), inputShape) };
    },
    apply: ({ w, b }, x) => (b ? run(w, x).add(bias4(b)) : run(w, x)),
  };
}

/**
 * 2-d convolution over NCHW inputs with an OIHW kernel.
 *
 * @param outChannels The number of output channels.
 * @param kernel Kernel size, `k` or `[kh, kw]`.
 * @param opts `stride`, `padding`, `dilation`, `useBias`, `wInit`, `bInit`.
 * @returns The layer; params `{ w: [out, in, kh, kw], b: [out] }`.
 *
 * @example A strided "SAME" convolution halves the image
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { conv2d } from "@wax/wax/nn";
 * const conv = conv2d(8, 5, { stride: 2, padding: "SAME" });
 * const { params, outputShape } = conv.init(random.key(0), [1, 1, 28, 28]);
 * assert(outputShape.join() === "1,8,14,14");
 * assert(conv.apply(params, np.ones([1, 1, 28, 28])).shape.join() === "1,8,14,14");
 * ```
 */
export function conv2d(outChannels: number, kernel: Size2, opts: Conv2dOptions = {}): Layer<LinearParams, null> {
  const [kh, kw] = pair(kernel);
  const pad = opts.padding ?? "VALID";
  const padding: lax.Padding = typeof pad === "number" ? [[pad, pad], [pad, pad]] : pad;
  const run = (w: Array, x: Array) =>
    lax.convGeneralDilated(x, w, { strides: pair(opts.stride ?? 1), padding, rhsDilation: pair(opts.dilation ?? 1) });
  return convLayer(outChannels, kh, kw, opts, run);
}

/** Options of `convTranspose2d`. */
export interface ConvTranspose2dOptions extends LinearOptions {
  /** Upsampling stride (default 1). */
  stride?: Size2;
  /**
   * "SAME" (output = input × stride), "VALID" (output = (input − 1) × stride + kernel), a
   * number `p` as in PyTorch (output = (input − 1) × stride − 2p + kernel), or explicit
   * `[lo, hi]` pads of the stride-dilated input per axis, as in `lax.convTranspose`.
   */
  padding?: "SAME" | "VALID" | number | [[number, number], [number, number]];
  /** Extra rows/columns added at the high end of the output (default 0). */
  outputPadding?: Size2;
}

function transposePads(k: number, s: number, pad: "SAME" | "VALID" | number, extra: number): [number, number] {
  if (typeof pad === "number") return [k - 1 - pad, k - 1 - pad + extra];
  let lo: number, hi: number;
  if (pad === "SAME") {
    const total = k + s - 2;
    lo = s > k - 1 ? k - 1 : Math.ceil(total / 2);
    hi = total - lo;
  } else {
    lo = k - 1;
    hi = k - 1 + Math.max(s - k, 0);
  }
  return [lo, hi + extra];
}

/**
 * 2-d transposed convolution ("deconvolution") over NCHW inputs: upsamples by `stride`.
 * The kernel is `[out, in, kh, kw]` applied to the stride-dilated input.
 *
 * @param outChannels The number of output channels.
 * @param kernel Kernel size, `k` or `[kh, kw]`.
 * @param opts `stride`, `padding`, `outputPadding`, `useBias`, `wInit`, `bInit`.
 * @returns The layer; params `{ w: [out, in, kh, kw], b: [out] }`.
 *
 * @example The DCGAN generator's 7 → 14 upsampling
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { convTranspose2d } from "@wax/wax/nn";
 * const up = convTranspose2d(32, 5, { stride: 2, padding: "SAME" });
 * const { params, outputShape } = up.init(random.key(0), [2, 64, 7, 7]);
 * assert(outputShape.join() === "2,32,14,14");
 * assert(up.apply(params, np.ones([2, 64, 7, 7])).shape.join() === "2,32,14,14");
 * ```
 */
export function convTranspose2d(
  outChannels: number,
  kernel: Size2,
  opts: ConvTranspose2dOptions = {},
): Layer<LinearParams, null> {
  const [kh, kw] = pair(kernel);
  const stride = pair(opts.stride ?? 1);
  const extra = pair(opts.outputPadding ?? 0);
  const pad = opts.padding ?? "VALID";
  const padding: [number, number][] = typeof pad === "object"
    ? pad.map(([lo, hi], i): [number, number] => [lo, hi + extra[i]])
    : [transposePads(kh, stride[0], pad, extra[0]), transposePads(kw, stride[1], pad, extra[1])];
  const run = (w: Array, x: Array) => lax.convTranspose(x, w, { strides: stride, padding });
  return convLayer(outChannels, kh, kw, opts, run);
}

/** Options of `embedding`. */
export interface EmbeddingOptions {
  /** Table initializer (default `normal(1)`, as in PyTorch). */
  init?: Initializer;
}

/**
 * A lookup table: integer indices `[...]` to vectors `[..., features]` (the cGAN's label
 * embedding). Gradients flow to the rows that were looked up.
 *
 * @param count The number of rows (distinct indices).
 * @param features The vector size.
 * @param opts `init` (default `normal(1)`).
 * @returns The layer; params `{ table: [count, features] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { embedding } from "@wax/wax/nn";
 * const emb = embedding(10, 4);
 * const { params, outputShape } = emb.init(random.key(0), [3]);
 * const y = emb.apply(params, np.array([1, 5, 1], { dtype: "int32" }));
 * assert(y.shape.join() === "3,4" && outputShape.join() === "3,4");
 * ```
 */
export function embedding(count: number, features: number, opts: EmbeddingOptions = {}): Layer<{ table: Array }, null> {
  return {
    init: (key, inputShape) => ({
      params: { table: (opts.init ?? normal(1))(key, [count, features], { fanIn: count, fanOut: features }) },
      state: null,
      outputShape: [...inputShape, features],
    }),
    apply: ({ table }, x) => np.take(table, x, 0),
  };
}
