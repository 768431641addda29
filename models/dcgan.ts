/**
 * DCGAN for 28×28 images, two architectures:
 *
 * - "tutorial", the TensorFlow DCGAN tutorial's (the benches use it):
 *   G: dense 100 → 7·7·256, BN, LeakyReLU, convT 5×5 → 128 (s1), BN, LeakyReLU,
 *   convT 5×5 → 64 (s2), BN, LeakyReLU, convT 5×5 → 1 (s2), tanh.
 *   D: conv 5×5 → 64 (s2), LeakyReLU, dropout 0.3, conv 5×5 → 128 (s2), LeakyReLU, dropout,
 *   flatten, dense → 1 (a logit). Adam(1e-4) for both.
 * - "compact", the one the example trains by default (`MNIST_DCGAN`, w = 32, chosen by measurement):
 *   G: dense latent → 7·7·2w, BN, ReLU, convT 4×4 → w (s2), BN, ReLU, then either convT 4×4 → 1
 *   (s2), tanh, or (`refine`, the default) convT 4×4 → w/2 (s2), BN, ReLU, conv 3×3 → 1, tanh.
 *   D: conv 4×4 → w (s2), LeakyReLU 0.2, conv 4×4 → 2w (s2), [BN with `dBatchNorm`, the default],
 *   LeakyReLU 0.2, flatten, dense → 1. Options: a dense `hidden` layer each side, dropout in D.
 *   4×4 kernels with stride 2 cover every output pixel equally (no checkerboard from uneven
 *   overlap); the 3×3 refining convolution removes the dotted strokes a 1-channel transposed
 *   convolution leaves, and batch norm in D keeps D from falling to chance (D loss ≈ 1.35, broken
 *   strokes) as it did without it.
 *
 * Either may read a label-free condition: an InfoGAN code (`codes`) or, in the default, the
 * k-means cluster of each training image (`clusters`, see `kmeans.ts`): an unconditional GAN must
 * map a connected latent space onto digits that form separate clusters, and draws the shapes in
 * between; conditioned on clusters that each hold one kind of digit, it draws far fewer of them
 * (MNIST score 6.9 → 9.4 at the same cost, see the README).
 *
 * The training step, state and metrics are `gan.ts`'s, shared with the conditional GAN.
 * @module
 */
import { Array, np, random, type tree } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import { type GanMetrics, type GanState, type GanTrainConfig, makeGanTrainer } from "./gan.ts";

/** The architecture of a DCGAN. */
export type DcganArch = "tutorial" | "compact";

/** Everything that defines a DCGAN run's model and optimizer. */
export interface DcganConfig extends GanTrainConfig {
  /** "tutorial" (TensorFlow tutorial) or "compact" (4×4 kernels, width `width`). */
  arch: DcganArch;
  /** Latent size. */
  latent: number;
  /** Channels of the compact nets' 14×14 layers (the 7×7 ones have twice as many). */
  width: number;
  /** Dropout rate after D's hidden layers (0: none). */
  dropout: number;
  /** Compact nets: a dense hidden layer of this size at G's input and before D's logit (0: none). */
  hidden: number;
  /** Compact G: upsample to 28×28 with w/2 channels, then a 3×3 convolution to the image (else a 4×4 transposed conv straight to it). */
  refine: boolean;
  /** Batch norm after D's second convolution (compact nets; real and fake batches are normalised apart). */
  dBatchNorm: boolean;
  /**
   * InfoGAN's categorical code (0: none): G also reads a one-hot code of this many values, taken
   * from the latent's first coordinate (its normal quantile, so each value is equally likely), and
   * D gets a head that must recover the code from the image. No labels are used; the code makes
   * G commit to one of a few modes per sample instead of drawing between them.
   */
  codes: number;
  /**
   * Self-conditioning on this many clusters of the training images (0: none; Liu et al. 2020): G
   * reads the one-hot cluster beside z and D adds a projection term ⟨embed(cluster), features⟩.
   * Training pairs each real batch's clusters (`clusterImages`, k-means: no labels) with its
   * fakes; a sample's cluster comes from its latent's first coordinate, each cluster as likely as
   * in the data (the cluster weights live in the generator state, `gState.prior`). Each cluster
   * holds one kind of digit, so G stops drawing in-between shapes.
   */
  clusters: number;
}

/** The TensorFlow tutorial's DCGAN: what `makeDcgan()` builds. */
export const TUTORIAL_DCGAN: DcganConfig = {
  arch: "tutorial",
  latent: 100,
  width: 64,
  learningRate: 1e-4,
  dLearningRate: 1e-4,
  decaySteps: 0,
  beta1: 0.9,
  beta2: 0.999,
  labelSmoothing: 0,
  hidden: 0,
  dropout: 0.3,
  refine: false,
  dBatchNorm: false,
  codes: 0,
  clusters: 0,
  evalBatchNorm: true,
  ema: 0,
};

/**
 * The configuration `examples/dcgan.ts` trains by default, the best of those measured on 2 cores
 * (see the README): compact nets of width 32 with the refining convolution and batch norm in D,
 * both conditioned on 100 k-means clusters of the training images (no labels), Adam 5e-4 with
 * β1 0.5 (the example decays it to 0 over the run), and sampling from a 0.999 moving average of
 * G's weights with running batch-norm statistics.
 */
export const MNIST_DCGAN: DcganConfig = {
  arch: "compact",
  latent: 64,
  width: 32,
  learningRate: 5e-4,
  dLearningRate: 5e-4,
  decaySteps: 0,
  beta1: 0.5,
  beta2: 0.999,
  labelSmoothing: 0,
  hidden: 0,
  dropout: 0,
  refine: true,
  dBatchNorm: true,
  codes: 0,
  clusters: 100,
  evalBatchNorm: true,
  ema: 0.999,
};

/** The parts of a configuration that shape the networks. */
export type NetConfig = Pick<DcganConfig, "arch" | "width" | "hidden" | "dropout" | "dBatchNorm" | "refine">;

/** Options of `makeDcgan`: any part of a `DcganConfig` (the rest from `TUTORIAL_DCGAN`). */
export type DcganOptions = Partial<DcganConfig>;

const w02 = { wInit: nn.normal(0.02), useBias: false };

/** The DCGAN networks of a configuration: the generator, and the discriminator up to its last features. */
export interface GanNets {
  /** Generator: its input `[N, inputs]` → images `[N, 1, 28, 28]`; its state is batch-norm statistics. */
  generator: nn.Layer<tree.PyTree, tree.PyTree>;
  /** Discriminator body: images → features `[N, F]` (always applied in training mode). */
  body: nn.Layer<tree.PyTree, tree.PyTree>;
  /** Feature size F. */
  featureSize: number;
  /** Fresh parameters of the body for inputs of `inputShape` (batch axis first). */
  bodyParams(key: Array, inputShape: number[]): tree.ArrayTree;
  /** The body's features for images `x` (batch statistics for its batch norm, if any). */
  dFeatures(params: tree.ArrayTree, x: Array, key: Array): Array;
}

/**
 * The generator and the discriminator's body (up to its last features) of a configuration.
 *
 * @param cfg The architecture, width and dropout.
 * @returns The networks.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { dcganNets, MNIST_DCGAN } from "@wax/wax/models";
 * const nets = dcganNets(MNIST_DCGAN);
 * const { outputShape } = nets.generator.init(random.key(0), [2, 64]);
 * assert.equal(outputShape.join(), "2,1,28,28");
 * ```
 */
export function dcganNets(cfg: NetConfig): GanNets {
  const nets = layers(cfg);
  // D runs in training mode only: its batch norm (if any) normalises with the batch's statistics,
  // so the running statistics it would return are never needed.
  const bodyState = nets.body.init(random.key(0), [1, 1, 28, 28]).state;
  return {
    ...nets,
    bodyParams: (key, inputShape) => arrays(nets.body.init(key, inputShape).params, "dcganNets: the body's parameters"),
    dFeatures(params, x, key) {
      // A body without batch norm is stateless and returns the features alone.
      const out: Array | [Array, tree.PyTree] = nets.body.apply(params, x, { training: true, key, state: bodyState });
      return out instanceof Array ? out : out[0];
    },
  };
}

/** A tree of arrays, checked leaf by leaf (the layers' parameters are typed as any pytree). */
function arrays(t: tree.PyTree, what: string): tree.ArrayTree {
  if (t === null || t === undefined || t instanceof Array) return t;
  if (typeof t === "number" || typeof t === "boolean") throw new TypeError(`${what}: a ${typeof t} leaf, not an array`);
  if (globalThis.Array.isArray(t)) return t.map((v) => arrays(v, what));
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, arrays(v, `${what}.${k}`)]));
}

function layers(
  cfg: NetConfig,
): Omit<GanNets, "dFeatures" | "bodyParams"> {
  const drop = (name: string) => (cfg.dropout > 0 ? { [name]: nn.dropout(cfg.dropout) } : {});
  if (cfg.arch === "tutorial") {
    const leaky = (x: Array) => nn.leakyRelu(x, { negativeSlope: 0.3 });
    return {
      generator: nn.serial({
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
      }),
      body: nn.serial({
        conv1: nn.conv2d(64, 5, { stride: 2, padding: "SAME", wInit: nn.normal(0.02) }),
        act1: leaky,
        ...drop("drop1"),
        conv2: nn.conv2d(128, 5, { stride: 2, padding: "SAME", wInit: nn.normal(0.02) }),
        act2: leaky,
        ...drop("drop2"),
        flat: nn.flatten(),
      }),
      featureSize: 128 * 7 * 7,
    };
  }
  if (cfg.arch !== "compact") {
    throw new Error(`dcganNets: unknown arch ${JSON.stringify(cfg.arch)}; use "tutorial" or "compact"`);
  }
  const w = cfg.width;
  if (!(Number.isInteger(w) && w >= 1)) throw new RangeError(`dcganNets: width must be a positive integer, got ${w}`);
  const leaky = (x: Array) => nn.leakyRelu(x, { negativeSlope: 0.2 });
  const k4: { stride: number; padding: "SAME" } = { stride: 2, padding: "SAME" };
  return {
    generator: nn.serial({
      ...(cfg.hidden > 0 ? { fcH: nn.dense(cfg.hidden, w02), bnH: nn.batchNorm(), actH: nn.relu } : {}),
      fc: nn.dense(7 * 7 * 2 * w, w02),
      bn0: nn.batchNorm(),
      act0: nn.relu,
      reshape: nn.reshape([2 * w, 7, 7]),
      up1: nn.convTranspose2d(w, 4, { ...k4, ...w02 }),
      bn1: nn.batchNorm(),
      act1: nn.relu,
      ...(cfg.refine
        ? {
          up2: nn.convTranspose2d(Math.max(1, w >> 1), 4, { ...k4, ...w02 }),
          bn2: nn.batchNorm(),
          act2: nn.relu,
          to: nn.conv2d(1, 3, { padding: "SAME", wInit: nn.normal(0.02) }),
        }
        : { up2: nn.convTranspose2d(1, 4, { ...k4, wInit: nn.normal(0.02) }) }),
      out: nn.tanh,
    }),
    body: nn.serial({
      conv1: nn.conv2d(w, 4, { ...k4, wInit: nn.normal(0.02) }),
      act1: leaky,
      ...drop("drop1"),
      conv2: nn.conv2d(2 * w, 4, { ...k4, wInit: nn.normal(0.02), useBias: !cfg.dBatchNorm }),
      ...(cfg.dBatchNorm ? { bn2: nn.batchNorm() } : {}),
      act2: leaky,
      ...drop("drop2"),
      flat: nn.flatten(),
      ...(cfg.hidden > 0
        ? {
          fcH: nn.dense(cfg.hidden, { wInit: nn.normal(0.02), useBias: !cfg.dBatchNorm }),
          ...(cfg.dBatchNorm ? { bnH: nn.batchNorm() } : {}),
          actH: leaky,
        }
        : {}),
    }),
    featureSize: cfg.hidden > 0 ? cfg.hidden : 2 * w * 7 * 7,
  };
}

/** A DCGAN discriminator's parameters: the body, the dense head that makes the logit, and with clusters their embedding. */
export type DcganD = { body: tree.ArrayTree; head: nn.LinearParams; embed?: { table: Array } };

/** A DCGAN: initial state, a jitted train step and a sampler. */
export interface Dcgan {
  /**
   * Fresh parameters and optimizer states; with `clusters`, `weights` are the clusters' shares of
   * the data (`clusterImages(…).weights`; default: all equal).
   */
  init(key: Array, imageShape?: number[], weights?: ArrayLike<number>): GanState<DcganD>;
  /**
   * One D update then one G update on a batch of real images in [-1, 1] (with `clusters`, and
   * their int32 clusters); donates `state`.
   */
  step(state: GanState<DcganD>, real: Array, key: Array, clusters?: Array): [GanState<DcganD>, GanMetrics];
  /** Generated images `[N, 1, 28, 28]` for latent vectors `z` `[N, latent]`. */
  sample(state: GanState<DcganD>, z: Array): Array;
  /** Latent size. */
  latent: number;
  /** The full configuration. */
  config: DcganConfig;
}

/**
 * One-hot rows of integer labels.
 *
 * @param labels Int32 `[N]`.
 * @param classes The number of classes.
 * @returns Float32 `[N, classes]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { oneHot } from "@wax/wax/models";
 * assert.deepEqual(await oneHot(np.array([2, 0], { dtype: "int32" }), 3).tolist(), [[0, 0, 1], [1, 0, 0]]);
 * ```
 */
export function oneHot(labels: Array, classes: number): Array {
  return np.equal(labels.reshape([-1, 1]), np.arange(classes, undefined, 1, { dtype: "int32" })).astype("float32");
}

/**
 * The categorical code of latents `z` `[N, L]`: which interval of the standard normal the first
 * coordinate falls in, for `codes` equally likely intervals, or for intervals as likely as the
 * `weights` given (`[K]`, summing to 1).
 *
 * @param z Latents, standard normal.
 * @param codes The number of equally likely code values, or the weights of the values.
 * @returns Int32 `[N]` in `[0, K)`.
 *
 * @example The median splits two codes
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { latentCode } from "@wax/wax/models";
 * const z = np.array([[-0.1, 5], [0.1, 5], [-3, 0], [3, 0]]);
 * assert.deepEqual(await latentCode(z, 2).tolist(), [0, 1, 0, 1]);
 * assert.deepEqual(await latentCode(z, 10).tolist(), [4, 5, 0, 9]);
 * // Weights 0.975 and 0.025: the boundary is at Φ⁻¹(0.975) ≈ 1.96.
 * assert.deepEqual(await latentCode(z, np.array([0.975, 0.025])).tolist(), [0, 0, 0, 1]);
 * ```
 */
export function latentCode(z: Array, codes: number | Array): Array {
  // The interval boundaries Φ⁻¹(p) = √2·erfinv(2p − 1) at the cumulative probabilities p.
  const k = typeof codes === "number" ? codes : codes.shape[0];
  const p = typeof codes === "number" ? np.arange(1, codes).div(codes) : np.sliceAxis(np.cumsum(codes), 0, 0, k - 1);
  const edges = random.erfinv(np.clip(p.mul(2).sub(1), -1, 1)).mul(Math.SQRT2).reshape([1, k - 1]);
  return np.greater(np.sliceAxis(z, 1, 0, 1), edges).astype("int32").sum(1).astype("int32");
}

/**
 * Builds a DCGAN for 1×28×28 images: the TensorFlow tutorial's by default, or any
 * configuration (`makeDcgan(MNIST_DCGAN)` is what the example trains).
 *
 * @param opts Parts of a `DcganConfig`; the rest from `TUTORIAL_DCGAN`.
 * @returns The model.
 *
 * @example One training step on random data, conditioned on 4 clusters
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { makeDcgan, MNIST_DCGAN } from "@wax/wax/models";
 * const gan = makeDcgan({ ...MNIST_DCGAN, width: 8, clusters: 4 });
 * // The clusters' shares of the data (from `clusterImages` on real data).
 * const s = gan.init(random.key(0), undefined, [0.1, 0.2, 0.3, 0.4]);
 * const real = random.uniform(random.key(1), [4, 1, 28, 28], { minval: -1, maxval: 1 });
 * const clusters = np.array([3, 1, 0, 3], { dtype: "int32" });
 * const [, m] = gan.step(s, real, random.key(2), clusters);
 * assert(Number.isFinite(await m.d.item()) && Number.isFinite(await m.g.item()));
 * ```
 */
export function makeDcgan(opts: DcganOptions = {}): Dcgan {
  const config = { ...TUTORIAL_DCGAN, ...opts };
  const { codes, clusters, latent } = config;
  for (const [name, v] of [["codes", codes], ["clusters", clusters]] as const) {
    if (!(Number.isInteger(v) && v >= 0 && v !== 1)) {
      throw new RangeError(`makeDcgan: ${name} must be 0 (none) or an integer ≥ 2, got ${v}`);
    }
  }
  if (codes > 0 && clusters > 0) {
    throw new RangeError(`makeDcgan: use an InfoGAN code (codes ${codes}) or clusters (${clusters}), not both`);
  }
  const nets = dcganNets(config);
  const head = nn.dense(1 + codes, config.arch === "tutorial" ? {} : { wInit: nn.normal(0.02) });
  const embed = nn.embedding(Math.max(1, clusters), nets.featureSize, { init: nn.normal(0.02) });
  // With clusters, the generator state is { bn, prior }: the batch-norm statistics and the cluster weights.
  type ClusterState = { bn: tree.PyTree; prior: Array };
  const input = (z: Array) => (codes > 0 ? np.concatenate([z, oneHot(latentCode(z, codes), codes)], 1) : z);
  const trainer = makeGanTrainer<DcganD>({
    latent,
    info: codes > 0 ? { code: (z) => latentCode(z, codes), weight: 1 } : undefined,
    init(key, imageShape) {
      const [kg, kb, kh, ke] = random.split(key, 4);
      const gi = nets.generator.init(kg, [1, latent + codes + clusters]);
      const d: DcganD = {
        body: nets.bodyParams(kb, [1, ...imageShape]),
        head: head.init(kh, [1, nets.featureSize]).params,
      };
      if (clusters === 0) return { g: gi.params, gState: gi.state, d };
      const prior = np.full([clusters], 1 / clusters);
      return { g: gi.params, gState: { bn: gi.state, prior }, d: { ...d, embed: embed.init(ke, [1]).params } };
    },
    generate(g, s, z, labels, training) {
      if (clusters === 0) return nets.generator.apply(g, input(z), { training, state: s });
      const { bn, prior } = s as ClusterState;
      const c = labels ?? latentCode(z, prior);
      const [x, bnNext] = nets.generator.apply(g, np.concatenate([z, oneHot(c, clusters)], 1), { training, state: bn });
      return [x, { bn: bnNext, prior }];
    },
    discriminate(d, x, labels, key) {
      const h = nets.dFeatures(d.body, x, key);
      const o = head.apply(d.head, h);
      if (codes > 0) return o;
      const logit = o.reshape([x.shape[0]]);
      return d.embed && labels ? logit.add(embed.apply(d.embed, labels).mul(h).sum(1)) : logit;
    },
  }, config);
  return {
    latent,
    config,
    init(key, imageShape, weights) {
      const state = trainer.init(key, imageShape);
      if (clusters === 0 || weights === undefined) return state;
      if (weights.length !== clusters) {
        throw new RangeError(`makeDcgan: init got ${weights.length} cluster weights for ${clusters} clusters`);
      }
      const prior = np.array(Float32Array.from(weights));
      return { ...state, gState: { ...(state.gState as ClusterState), prior } };
    },
    step(state, real, key, ids) {
      if (clusters > 0 && !ids) {
        throw new Error(
          `makeDcgan: this DCGAN conditions on ${clusters} clusters; step(state, real, key, clusters) needs the ` +
            `int32 cluster of each real image (see clusterImages)`,
        );
      }
      return trainer.step(state, real, clusters > 0 ? ids! : null, key);
    },
    sample: (state, z) => trainer.sample(state, z, null),
  };
}
