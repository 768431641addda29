/**
 * DCGAN for 28×28 images, the architecture of the TensorFlow DCGAN tutorial:
 * G: dense 100 → 7·7·256, BN, LeakyReLU, convT 5×5 → 128 (s1), BN, LeakyReLU,
 * convT 5×5 → 64 (s2), BN, LeakyReLU, convT 5×5 → 1 (s2), tanh.
 * D: conv 5×5 → 64 (s2), LeakyReLU, dropout 0.3, conv 5×5 → 128 (s2), LeakyReLU, dropout,
 * flatten, dense → 1 (a logit). Both trained with Adam(1e-4); one D update then one G update.
 * @module
 */
import { type Array, jit, random, type tree, valueAndGrad } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";

const leaky = (x: Array) => nn.leakyRelu(x, { negativeSlope: 0.3 });
const w02 = { wInit: nn.normal(0.02), useBias: false };

/** The generator network: latent `[N, 100]` → images `[N, 1, 28, 28]` in [-1, 1]. */
export const generator: nn.Layer<tree.PyTree, tree.PyTree> = nn.serial({
  fc: nn.dense(7 * 7 * 256, w02),
  bn0: nn.batchNorm(),
  act0: leaky,
  reshape: nn.reshape([256, 7, 7]),
  up1: nn.convTranspose2d(128, 5, { stride: 1, padding: "SAME", ...w02 }),
  bn1: nn.batchNorm(),
  act1: leaky,
  up2: nn.convTranspose2d(64, 5, { stride: 2, padding: "SAME", ...w02 }),
  bn2: nn.batchNorm(),
  act2: leaky,
  up3: nn.convTranspose2d(1, 5, { stride: 2, padding: "SAME", wInit: nn.normal(0.02) }),
  out: nn.tanh,
});

/** The discriminator network: images → one logit per image. */
export const discriminator: nn.Layer<tree.PyTree, null> = nn.serial({
  conv1: nn.conv2d(64, 5, { stride: 2, padding: "SAME", wInit: nn.normal(0.02) }),
  act1: leaky,
  drop1: nn.dropout(0.3),
  conv2: nn.conv2d(128, 5, { stride: 2, padding: "SAME", wInit: nn.normal(0.02) }),
  act2: leaky,
  drop2: nn.dropout(0.3),
  flat: nn.flatten(),
  fc: nn.dense(1),
});

type GParams = tree.PyTree;
type GState = tree.PyTree;
type DParams = tree.PyTree;
type AdamState = optim.StateOf<ReturnType<typeof optim.adam>>;

/** Everything a DCGAN training run carries from step to step. */
export interface GanState {
  /** Generator parameters. */
  g: tree.PyTree;
  /** Generator batch-norm statistics. */
  gState: tree.PyTree;
  /** Discriminator parameters. */
  d: tree.PyTree;
  /** Generator optimizer state (Adam). */
  gOpt: tree.PyTree;
  /** Discriminator optimizer state (Adam). */
  dOpt: tree.PyTree;
}

/** Options of `makeDcgan`. */
export interface DcganOptions {
  /** Latent size (default 100). */
  latent?: number;
  /** Adam learning rate for both networks (default 1e-4). */
  learningRate?: number;
}

/** A DCGAN: initial state, a jitted train step and a sampler. */
export interface Dcgan {
  /** Fresh parameters and optimizer states. */
  init(key: Array, imageShape?: number[]): GanState;
  /** One D update then one G update on a batch of real images in [-1, 1]; returns new state and losses. */
  step(state: GanState, real: Array, key: Array): [GanState, { d: Array; g: Array }];
  /** Generated images for latent vectors `z` (evaluation mode). */
  sample(state: GanState, z: Array): Array;
  /** Latent size. */
  latent: number;
}

/**
 * Builds the DCGAN of the TensorFlow tutorial for 1×28×28 images.
 *
 * @example One training step on random data
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { makeDcgan } from "@wax/wax/models";
 * const gan = makeDcgan();
 * let s = gan.init(random.key(0));
 * const real = random.uniform(random.key(1), [4, 1, 28, 28], { minval: -1, maxval: 1 });
 * const [next, losses] = gan.step(s, real, random.key(2));
 * assert(Number.isFinite(await losses.d.item()) && Number.isFinite(await losses.g.item()));
 * s = next;
 * ```
 */
export function makeDcgan(opts: DcganOptions = {}): Dcgan {
  const latent = opts.latent ?? 100;
  const opt = optim.adam(opts.learningRate ?? 1e-4);
  const ones = (x: Array) => x.mul(0).add(1);
  const zerosLike = (x: Array) => x.mul(0);
  const gen = (g: GParams, s: GState, z: Array, training: boolean) => generator.apply(g, z, { training, state: s });
  const disc = (d: DParams, x: Array, key: Array) => discriminator.apply(d, x, { training: true, key });

  const trainStep = (state: GanState, real: Array, key: Array): [GanState, { d: Array; g: Array }] => {
    const [kz1, kz2, kd1, kd2, kd3] = random.split(key, 5);
    const n = real.shape[0];
    // Discriminator update.
    const [fake, gState] = gen(state.g, state.gState, random.normal(kz1, [n, latent]), true);
    const dLoss = (d: DParams) => {
      const r = disc(d, real, kd1);
      const f = disc(d, fake, kd2);
      return nn.bceWithLogits(r, ones(r)).add(nn.bceWithLogits(f, zerosLike(f)));
    };
    const [dl, dg] = valueAndGradOf(dLoss, state.d);
    const [dUpd, dOpt] = opt.update(dg, state.dOpt as AdamState, state.d);
    const d = optim.applyUpdates(state.d, dUpd);
    // Generator update.
    const z = random.normal(kz2, [n, latent]);
    const gLoss = (g: GParams): [Array, GState] => {
      const [img, s] = gen(g, gState, z, true);
      const f = disc(d, img, kd3);
      return [nn.bceWithLogits(f, ones(f)), s];
    };
    const [[gl, gState2], gg] = valueAndGradAux(gLoss, state.g);
    const [gUpd, gOpt] = opt.update(gg, state.gOpt as AdamState, state.g);
    const g = optim.applyUpdates(state.g, gUpd);
    return [{ g, gState: gState2, d, gOpt, dOpt }, { d: dl, g: gl }];
  };

  return {
    latent,
    init(key: Array, imageShape = [1, 28, 28]): GanState {
      const [kg, kd] = random.split(key);
      const gi = generator.init(kg, [1, latent]);
      const di = discriminator.init(kd, [1, ...imageShape]);
      return { g: gi.params, gState: gi.state, d: di.params, gOpt: opt.init(gi.params), dOpt: opt.init(di.params) };
    },
    step: jit(trainStep, { donateArgnums: [0] }),
    sample: jit((state: GanState, z: Array) => gen(state.g, state.gState, z, false)[0]),
  };
}

function valueAndGradOf<P extends tree.PyTree>(f: (p: P) => Array, p: P): [Array, P] {
  return valueAndGrad(f)(p) as [Array, P];
}
function valueAndGradAux<P extends tree.PyTree, A>(f: (p: P) => [Array, A], p: P): [[Array, A], P] {
  return valueAndGrad(f, { hasAux: true })(p) as [[Array, A], P];
}
