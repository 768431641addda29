/**
 * The pattern maker's and the outpainter's engine: find latents whose image matches the given
 * pixels where the mask says so, by gradient descent on the latent through the generator.
 *
 *   loss(z) = Σ mask·(G(z) − target)² / Σ mask  +  prior · ½·mean(z²)
 *
 * The first term keeps the given pixels (or draws the given shape); the second, the negative log
 * of the Gaussian prior up to a constant, keeps z where the generator was trained, so the rest of
 * the image stays a plausible digit. Several starts run side by side as one batch (for the cGAN,
 * one per class unless a label is given) and the best one wins. `grad` comes from wax; Adam moves z.
 * @module
 */
import { type Array, grad, jit, np, random, type tree } from "../../mod.ts";
import * as optim from "../../optim/mod.ts";
import type { Generator } from "./models.ts";

/** What to match and how hard to try. */
export interface LatentSearch {
  /** Target pixels in [0, 1], 784 of them. */
  target: Float32Array;
  /** Weights in [0, 1] per pixel: 1 where the target must be kept, 0 where the model is free. */
  mask: Float32Array;
  /** Adam steps (the server caps them). */
  steps: number;
  /** Starts optimised side by side. */
  restarts: number;
  /** Seed of the starting latents. */
  seed: number;
  /** Weight of the prior term. */
  prior: number;
  /** The cGAN's class (null: one start per class). */
  label: number | null;
}

/** A snapshot of the search. */
export interface SearchFrame {
  /** Steps done. */
  step: number;
  /** The best start's masked mean squared error. */
  error: number;
  /** The best masked error of the starting latents. */
  initial: number;
  /** The best start's image: 784 pixels in [0, 1]. */
  image: Float32Array;
}

type Opt = optim.StateOf<ReturnType<typeof optim.adam>>;
type Step = (
  params: tree.PyTree,
  z: Array,
  s: Opt,
  t: Array,
  m: Array,
  y: Array | null,
  prior: Array,
) => [Array, Opt, Array, Array];
const steps = new WeakMap<Generator, Step>();
const adam = optim.adam(0.05);

/** One jitted Adam step on the latents of all starts, per generator. */
function stepOf(gen: Generator): Step {
  const cached = steps.get(gen);
  if (cached) return cached;
  const errors = (params: tree.PyTree, z: Array, t: Array, m: Array, y: Array | null): [Array, Array] => {
    const x = gen.render(params, z, y).reshape([z.shape[0], 784]);
    const e = np.square(x.sub(t)).mul(m).sum(1).div(np.maximum(m.sum(1), 1));
    return [e, x];
  };
  const step: Step = jit((params, z, s, t, m, y, prior) => {
    const total = (zz: Array) => {
      const [e] = errors(params, zz, t, m, y);
      return e.add(np.square(zz).mean(1).mul(prior).mul(0.5)).sum();
    };
    const g = grad(total)(z);
    const [u, next] = adam.update(g, s, z);
    const [e, x] = errors(params, z, t, m, y);
    return [optim.applyUpdates(z, u), next, e, x];
  });
  steps.set(gen, step);
  return step;
}

/**
 * Searches the latent space; yields a frame every `every` steps and after the last one.
 * Stops early (without a last frame) when `signal` aborts.
 *
 * @param gen The generator.
 * @param search Target, mask, steps, starts, seed, prior weight, label.
 * @param opts `every` (default 10) and the `signal` that cancels.
 * @returns Frames of the best start so far.
 */
export async function* searchLatent(
  gen: Generator,
  search: LatentSearch,
  opts: { every?: number; signal?: AbortSignal } = {},
): AsyncGenerator<SearchFrame> {
  const every = opts.every ?? 10;
  const perClass = gen.classes > 0 && search.label === null;
  const k = perClass ? gen.classes * Math.max(1, Math.round(search.restarts / gen.classes)) : search.restarts;
  let z = random.normal(random.key(search.seed), [k, gen.latent]);
  let y: Array | null = null;
  if (gen.classes) {
    const soft = new Float32Array(k * gen.classes);
    for (let i = 0; i < k; i++) soft[i * gen.classes + (perClass ? i % gen.classes : search.label!)] = 1;
    y = np.array(soft, { shape: [k, gen.classes] });
  }
  const tile = (v: Float32Array) => np.broadcastTo(np.array(v, { shape: [1, 784] }), [k, 784]);
  const [t, m] = [tile(search.target), tile(search.mask)];
  const step = stepOf(gen);
  const prior = np.array(search.prior);
  let s = adam.init(z);
  let initial = NaN;
  for (let i = 1; i <= search.steps; i++) {
    // Let other requests (the sliders' pictures) in between steps.
    await new Promise((r) => setTimeout(r, 0));
    if (opts.signal?.aborted) return;
    const [zn, sn, e, x] = step(gen.params, z, s, t, m, y, prior);
    [z, s] = [zn, sn];
    if (i === 1) initial = Math.min(...await e.data());
    if (i % every === 0 || i === search.steps) {
      const errs = await e.data();
      let best = 0;
      for (let j = 1; j < errs.length; j++) if (errs[j] < errs[best]) best = j;
      const image = Float32Array.from((await x.data()).subarray(best * 784, (best + 1) * 784));
      yield { step: i, error: errs[best], initial, image };
    }
  }
}

/**
 * The given pixels where the mask is set, the generated ones elsewhere.
 *
 * @param target The given pixels.
 * @param mask Per-pixel weights in [0, 1].
 * @param image The generated pixels.
 * @returns `mask·target + (1 − mask)·image`.
 */
export function composite(target: Float32Array, mask: Float32Array, image: Float32Array): Float32Array {
  return image.map((v, i) => mask[i] * target[i] + (1 - mask[i]) * v);
}

/**
 * The masked mean squared error of an image against a target.
 *
 * @param target The given pixels.
 * @param mask Per-pixel weights.
 * @param image The pixels to score.
 * @returns `Σ mask·(image − target)² / Σ mask` (0 when the mask is empty).
 */
export function maskedError(target: Float32Array, mask: Float32Array, image: Float32Array): number {
  let s = 0, w = 0;
  for (let i = 0; i < image.length; i++) {
    s += mask[i] * (image[i] - target[i]) ** 2;
    w += mask[i];
  }
  return w > 0 ? s / w : 0;
}
