/**
 * The variational autoencoder (Kingma & Welling, 2014) for images with pixels in [0, 1]. The
 * encoder gives a Gaussian over the latent space, `q(z|x) = N(μ, diag(σ²))`, as (μ, log σ²);
 * a sample `z = μ + σ·ε` (the reparameterisation: ε drawn from an explicit key, so gradients
 * reach μ and σ) goes through the decoder to the logits of independent Bernoullis over the
 * pixels. Training maximises the evidence lower bound
 * `ELBO = E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I))`, in nats per image; the KL term pulls every
 * code towards the standard normal, which makes the latent space smooth and lets new images be
 * sampled from the prior. `iwBound` is the importance-weighted bound (Burda et al., 2016), the
 * usual estimate of the test log-likelihood.
 * @module
 */
import { type Array, jit, np, random, type tree, valueAndGrad } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";

/** The VAE's shape. */
export interface VaeConfig {
  /** "dense" (two hidden layers each way) or "conv" (two strided convolutions each way and a hidden layer). */
  arch: "dense" | "conv";
  /** Latent size (default 20). */
  latent: number;
  /** Width of the hidden layers (default 512). */
  hidden: number;
}

/** Parameters: the encoder body, its two heads (μ and log σ²), and the decoder (z → pixel logits). */
export type VaeParams = { enc: tree.PyTree; mu: nn.LinearParams; logVar: nn.LinearParams; dec: tree.PyTree };

/** Training state: the parameters and Adam's state. */
export type VaeState = { params: VaeParams; opt: [optim.AdamState, optim.CountState] };

/** The terms of the ELBO per image, in nats: ELBO = −(rec + kl). */
export interface ElboTerms {
  /** Reconstruction: −log p(x|z) for the sampled z, `[B]`. */
  rec: Array;
  /** KL(q(z|x) ‖ N(0, I)), `[B]`. */
  kl: Array;
}

/** Options of `makeVae`. */
export interface VaeOptions extends Partial<VaeConfig> {
  /** Adam's learning rate (default 1e-3). */
  learningRate?: number;
  /** Steps over which the learning rate decays to 0 along a cosine (default: constant). */
  decaySteps?: number;
  /** Image shape `[C, H, W]` (default [1, 28, 28]). */
  imageShape?: number[];
}

/** A VAE: init, a jitted train step, and jitted encoding, decoding and bounds. */
export interface Vae {
  /** The configuration. */
  config: VaeConfig;
  /** Fresh parameters and optimizer state. */
  init(key: Array): VaeState;
  /**
   * One Adam step on images `x` `[B, C, H, W]` in [0, 1]; `key` draws ε. Returns the new state
   * (the old one is donated) and the batch means of the loss (−ELBO), `rec` and `kl`, in nats per image.
   */
  step(state: VaeState, x: Array, key: Array): [VaeState, { loss: Array; rec: Array; kl: Array }];
  /** The encoder's Gaussian: means and log-variances `[B, latent]`. */
  encode(params: VaeParams, x: Array): { mu: Array; logVar: Array };
  /** Pixel probabilities `[B, C, H, W]` (the Bernoulli means) of latents `z` `[B, latent]`. */
  decode(params: VaeParams, z: Array): Array;
  /** The decoded means of the encoder: `decode(encode(x).mu)`. */
  reconstruct(params: VaeParams, x: Array): Array;
  /** The ELBO's terms per image, with one z per image drawn from `key`. */
  elbo(params: VaeParams, x: Array, key: Array): ElboTerms;
  /** The importance-weighted bound on log p(x) per image with `k` samples (k = 1: the ELBO), `[B]`. */
  iwBound(params: VaeParams, x: Array, key: Array, k: number): Array;
}

/**
 * A sample of `N(μ, exp(logVar))` written as `μ + exp(logVar / 2)·ε` with `ε ~ N(0, I)` drawn
 * from `key`: a differentiable function of μ and logVar.
 *
 * @param key The key that draws ε.
 * @param mu Means.
 * @param logVar Log-variances, shaped like `mu`.
 * @returns The sample, shaped like `mu`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { reparameterize } from "@wax/wax/models";
 * const z = reparameterize(random.key(0), np.full([10000], 3), np.full([10000], Math.log(4)));
 * assert(Math.abs((await z.mean().item()) - 3) < 0.1 && Math.abs((await np.std(z).item()) - 2) < 0.1);
 * ```
 */
export function reparameterize(key: Array, mu: Array, logVar: Array): Array {
  if (mu.shape.join() !== logVar.shape.join()) {
    throw new Error(`reparameterize: mu [${mu.shape}] and logVar [${logVar.shape}] differ; pass one shape`);
  }
  return mu.add(np.exp(logVar.mul(0.5)).mul(random.normal(key, mu.shape)));
}

/**
 * The ELBO's terms per image for decoder logits of a sampled z: `rec = −log p(x|z)` under
 * independent Bernoullis (the stable form `Σ softplus(l) − x·l`) and the closed-form
 * `kl = ½ Σ (σ² + μ² − 1 − log σ²)`.
 *
 * @param logits Decoder logits `[B, ...]`.
 * @param x Images in [0, 1], shaped like `logits`.
 * @param mu Encoder means `[B, latent]`.
 * @param logVar Encoder log-variances `[B, latent]`.
 * @returns `rec` and `kl`, `[B]` each, in nats.
 *
 * @example A standard-normal posterior has no KL; logits 0 cost log 2 per pixel
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { elboTerms } from "@wax/wax/models";
 * const { rec, kl } = elboTerms(np.zeros([1, 4]), np.ones([1, 4]), np.zeros([1, 2]), np.zeros([1, 2]));
 * assert(Math.abs((await rec.item()) - 4 * Math.LN2) < 1e-5 && (await kl.item()) === 0);
 * ```
 */
export function elboTerms(logits: Array, x: Array, mu: Array, logVar: Array): ElboTerms {
  return {
    rec: nn.bernoulliLogLikelihood(logits, x, { reduction: "none" }).neg(),
    kl: nn.gaussianKl(mu, logVar, { reduction: "none" }),
  };
}

type Net = nn.Layer<tree.PyTree, null>;

function vaeLayers(c: VaeConfig, imageShape: number[]): { body: Net; decoder: Net } {
  const [ch, h, w] = imageShape;
  const { hidden } = c;
  if (c.arch === "dense") {
    return {
      body: nn.serial(nn.flatten(), nn.dense(hidden), nn.relu, nn.dense(hidden), nn.relu),
      decoder: nn.serial(
        nn.dense(hidden),
        nn.relu,
        nn.dense(hidden),
        nn.relu,
        nn.dense(ch * h * w),
        nn.reshape([ch, h, w]),
      ),
    };
  }
  if (c.arch === "conv") {
    if (h % 4 || w % 4) throw new Error(`makeVae: the conv variant needs sides divisible by 4, got ${h}×${w}`);
    const he = { wInit: nn.heUniform() }; // as in the autoencoder: Glorot's scale stalls the conv stack at first
    const conv = (k: number) => nn.conv2d(k, 4, { stride: 2, padding: "SAME", ...he });
    const up = (k: number) => nn.convTranspose2d(k, 4, { stride: 2, padding: "SAME", ...he });
    return {
      body: nn.serial(conv(32), nn.relu, conv(64), nn.relu, nn.flatten(), nn.dense(hidden, he), nn.relu),
      decoder: nn.serial(
        nn.dense(hidden, he),
        nn.relu,
        nn.dense(64 * (h / 4) * (w / 4), he),
        nn.relu,
        nn.reshape([64, h / 4, w / 4]),
        up(32),
        nn.relu,
        up(ch),
      ),
    };
  }
  throw new Error(`makeVae: unknown architecture ${JSON.stringify(c.arch)}; use "dense" or "conv"`);
}

/**
 * Builds a VAE.
 *
 * @param opts `arch` (default "dense"), `latent` (default 20), `hidden` (default 512), `learningRate`,
 *   `decaySteps`, `imageShape`.
 * @returns init, step, encode, decode, reconstruct, elbo and iwBound.
 *
 * @example Shapes, and one step
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { makeVae } from "@wax/wax/models";
 * const vae = makeVae({ latent: 2, hidden: 32 });
 * const state = vae.init(random.key(0));
 * const x = random.uniform(random.key(1), [4, 1, 28, 28]);
 * assert.deepEqual(vae.encode(state.params, x).mu.shape, [4, 2]);
 * assert.deepEqual(vae.decode(state.params, random.normal(random.key(2), [3, 2])).shape, [3, 1, 28, 28]);
 * const [next, m] = vae.step(state, x, random.key(3)); // `state` is donated: use `next`
 * assert(Math.abs((await m.loss.item()) - (await m.rec.item()) - (await m.kl.item())) < 1e-2);
 * assert.deepEqual(vae.iwBound(next.params, x, random.key(4), 5).shape, [4]);
 * ```
 */
export function makeVae(opts: VaeOptions = {}): Vae {
  const config: VaeConfig = { arch: opts.arch ?? "dense", latent: opts.latent ?? 20, hidden: opts.hidden ?? 512 };
  const sizes: ("latent" | "hidden")[] = ["latent", "hidden"];
  for (const k of sizes) {
    if (!(Number.isInteger(config[k]) && config[k] >= 1)) {
      throw new Error(`makeVae: ${k} must be a positive integer, got ${config[k]}`);
    }
  }
  const imageShape = opts.imageShape ?? [1, 28, 28];
  const { body, decoder } = vaeLayers(config, imageShape);
  const head = nn.dense(config.latent);
  const lr = opts.learningRate ?? 1e-3;
  const opt = optim.adam(opts.decaySteps ? optim.cosineDecay(lr, opts.decaySteps) : lr);
  const encode = (p: VaeParams, x: Array) => {
    const f = body.apply(p.enc, x);
    return { mu: head.apply(p.mu, f), logVar: head.apply(p.logVar, f) };
  };
  const logitsOf = (p: VaeParams, z: Array) => decoder.apply(p.dec, z);
  const elbo = (p: VaeParams, x: Array, key: Array): ElboTerms => {
    const { mu, logVar } = encode(p, x);
    return elboTerms(logitsOf(p, reparameterize(key, mu, logVar)), x, mu, logVar);
  };
  const trainStep = (state: VaeState, x: Array, key: Array) => {
    const lossOf = (p: VaeParams): [Array, ElboTerms] => {
      const t = elbo(p, x, key);
      return [t.rec.add(t.kl).mean(), t];
    };
    const [[loss, t], grads] = valueAndGrad(lossOf, { hasAux: true })(state.params);
    const [updates, optState] = opt.update(grads, state.opt, state.params);
    const next: VaeState = { params: optim.applyUpdates(state.params, updates), opt: optState };
    const metrics = { loss, rec: t.rec.mean(), kl: t.kl.mean() };
    return [next, metrics] satisfies [VaeState, typeof metrics];
  };
  const iwBound = (p: VaeParams, x: Array, key: Array, k: number) => {
    if (!(Number.isInteger(k) && k >= 1)) throw new Error(`iwBound: k must be a positive integer, got ${k}`);
    const { mu, logVar } = encode(p, x);
    const [b, d] = mu.shape;
    const eps = random.normal(key, [b, k, d]);
    const z = mu.expandDims(1).add(np.exp(logVar.mul(0.5)).expandDims(1).mul(eps)); // [b, k, d]
    const xs = np.broadcastTo(x.expandDims(1), [b, k, ...x.shape.slice(1)]).reshape(b * k, ...x.shape.slice(1));
    const ll = nn.bernoulliLogLikelihood(logitsOf(p, z.reshape(b * k, d)), xs, { reduction: "none" }).reshape(b, k);
    // log w = log p(x|z) + log N(z; 0, I) − log N(z; μ, σ²); the 2π terms cancel.
    const logW = ll.add(np.square(eps).add(logVar.expandDims(1)).sub(np.square(z)).sum(2).mul(0.5));
    return np.logsumexp(logW, { axis: 1 }).sub(Math.log(k));
  };

  return {
    config,
    init(key: Array): VaeState {
      const [kb, km, kv, kd] = random.split(key, 4);
      const b = body.init(kb, [1, ...imageShape]);
      const params: VaeParams = {
        enc: b.params,
        mu: head.init(km, b.outputShape).params,
        logVar: head.init(kv, b.outputShape).params,
        dec: decoder.init(kd, [1, config.latent]).params,
      };
      return { params, opt: opt.init(params) };
    },
    step: jit(trainStep, { donateArgnums: [0] }),
    encode: jit(encode),
    decode: jit((p: VaeParams, z: Array) => nn.sigmoid(logitsOf(p, z))),
    reconstruct: jit((p: VaeParams, x: Array) => nn.sigmoid(logitsOf(p, encode(p, x).mu))),
    elbo: jit(elbo),
    iwBound: jit(iwBound, { staticArgnums: [3] }),
  };
}

/**
 * Points between two latent vectors: along the straight line (`linear`) or along the arc of
 * spherical linear interpolation (`spherical`, slerp: `sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b`
 * with Ω the angle between a and b), which keeps the points near the shell where a
 * high-dimensional standard normal puts its mass, instead of cutting through its less likely
 * centre. Computed in float64 on the host.
 *
 * @param a The start `[d]`.
 * @param b The end `[d]`.
 * @param steps Number of points, ends included (≥ 2).
 * @param kind "linear" or "spherical".
 * @returns `[steps, d]`, row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { interpolate } from "@wax/wax/models";
 * assert.deepEqual([...interpolate([0, 2], [2, 0], 3, "linear")], [0, 2, 1, 1, 2, 0]);
 * const mid = interpolate([0, 2], [2, 0], 3, "spherical").subarray(2, 4);
 * assert(Math.abs(Math.hypot(mid[0], mid[1]) - 2) < 1e-6); // on the circle of radius 2
 * ```
 */
export function interpolate(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  steps: number,
  kind: "linear" | "spherical",
): Float32Array {
  const d = a.length;
  if (b.length !== d || !(Number.isInteger(steps) && steps >= 2)) {
    throw new Error(`interpolate: needs two vectors of one length and steps ≥ 2; got ${d}, ${b.length}, ${steps}`);
  }
  const out = new Float32Array(steps * d);
  const na = Math.hypot(...globalThis.Array.from(a)), nb = Math.hypot(...globalThis.Array.from(b));
  let dot = 0;
  for (let j = 0; j < d; j++) dot += a[j] * b[j];
  const omega = Math.acos(Math.max(-1, Math.min(1, dot / (na * nb || 1))));
  for (let i = 0; i < steps; i++) {
    const t = i / (steps - 1);
    if (kind === "linear" || omega < 1e-6) {
      for (let j = 0; j < d; j++) out[i * d + j] = (1 - t) * a[j] + t * b[j];
    } else {
      const [ca, cb] = [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)];
      for (let j = 0; j < d; j++) out[i * d + j] = ca * a[j] + cb * b[j];
    }
  }
  return out;
}

/**
 * The points of Kingma & Welling's manifold figure for a 2-d latent: an `n` × `n` grid of the
 * standard normal's quantiles at probabilities spread evenly over `[lo, hi]` on each axis, so
 * that equal steps in the grid are equal steps in probability under the prior. Rows run from
 * the top (largest z₂) down and columns from the left (smallest z₁) across, as the decoded
 * images are laid out.
 *
 * @param n Points per side (≥ 2).
 * @param opts `lo` and `hi`, the outermost probabilities (default 0.05 and 0.95).
 * @returns `[n·n, 2]` latents, row-major: `(z₁, z₂)` of row `i`, column `j` at `(i·n + j)·2`.
 *
 * @example The corners are the 5 % and 95 % quantiles, ±1.645
 * ```ts
 * import assert from "node:assert";
 * import { quantileGrid } from "@wax/wax/models";
 * const g = await quantileGrid(3).data();
 * assert(Math.abs(g[0] + 1.6449) < 1e-3 && Math.abs(g[1] - 1.6449) < 1e-3); // top left: (−1.645, 1.645)
 * assert(Math.abs(g[8]) < 1e-6 && Math.abs(g[9]) < 1e-6); // the centre: (0, 0)
 * ```
 */
export function quantileGrid(n: number, opts: { lo?: number; hi?: number } = {}): Array {
  const { lo = 0.05, hi = 0.95 } = opts;
  if (!(Number.isInteger(n) && n >= 2 && lo > 0 && lo < hi && hi < 1)) {
    throw new Error(`quantileGrid: needs an integer n ≥ 2 and 0 < lo < hi < 1; got n ${n}, lo ${lo}, hi ${hi}`);
  }
  const q = random.erfinv(np.linspace(lo, hi, n).mul(2).sub(1)).mul(Math.SQRT2); // Φ⁻¹(p) = √2·erfinv(2p − 1)
  const z1 = np.broadcastTo(q.reshape(1, n), [n, n]);
  const z2 = np.broadcastTo(np.flip(q).reshape(n, 1), [n, n]);
  return np.stack([z1, z2], -1).reshape(n * n, 2);
}
