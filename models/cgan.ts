/**
 * A conditional GAN for 28×28 images: the compact DCGAN of `dcgan.ts` with the class label fed
 * to both networks. The generator sees the latent concatenated with the one-hot label; the
 * discriminator either adds a projection term `⟨embed(y), h⟩` to its logit ("projection",
 * Miyato & Koyama 2018) or reads the one-hot label as extra input channels ("concat").
 * `sample(state, z, labels)` draws the digits asked for.
 * @module
 */
import { type Array, np, random, type tree } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import { type DcganConfig, dcganNets, MNIST_DCGAN, oneHot } from "./dcgan.ts";
import { type GanMetrics, type GanState, makeGanTrainer } from "./gan.ts";

/** How the discriminator reads the label. */
export type LabelInput = "projection" | "concat";

/** A conditional GAN's configuration: a DCGAN's, the number of classes and how D reads labels. */
export interface CganConfig extends DcganConfig {
  /** Number of classes. */
  classes: number;
  /** "projection" (a label embedding dotted with D's features) or "concat" (one-hot input channels). */
  labelInput: LabelInput;
}

/** The configuration `examples/cgan.ts` trains by default (chosen by measurement). */
export const MNIST_CGAN: CganConfig = { ...MNIST_DCGAN, clusters: 0, classes: 10, labelInput: "projection" };

/** A conditional GAN discriminator's parameters: a DCGAN's, and the label embedding of a projection D. */
export type CganD = { body: tree.ArrayTree; head: nn.LinearParams; embed: { table: Array } | null };

/** A conditional GAN: initial state, a jitted train step and a sampler. */
export interface Cgan {
  /** Fresh parameters and optimizer states. */
  init(key: Array, imageShape?: number[]): GanState<CganD>;
  /** One D update then one G update on real images in [-1, 1] and their int32 labels; donates `state`. */
  step(state: GanState<CganD>, real: Array, labels: Array, key: Array): [GanState<CganD>, GanMetrics];
  /** Images `[N, 1, 28, 28]` of the classes `labels` (int32 `[N]`) for latents `z` `[N, latent]`. */
  sample(state: GanState<CganD>, z: Array, labels: Array): Array;
  /** Latent size. */
  latent: number;
  /** Number of classes. */
  classes: number;
  /** The full configuration. */
  config: CganConfig;
}

/**
 * Builds a conditional GAN (by default `MNIST_CGAN`: the compact DCGAN with a projection
 * discriminator).
 *
 * @param opts Parts of a `CganConfig`; the rest from `MNIST_CGAN`.
 * @returns The model.
 *
 * @example Sample three digits of a small untrained model
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { makeCgan } from "@wax/wax/models";
 * const gan = makeCgan({ width: 8 });
 * const s = gan.init(random.key(0));
 * const z = random.normal(random.key(1), [3, gan.latent]);
 * const x = gan.sample(s, z, np.array([7, 7, 1], { dtype: "int32" }));
 * assert.equal(x.shape.join(), "3,1,28,28");
 * ```
 */
export function makeCgan(opts: Partial<CganConfig> = {}): Cgan {
  const config = { ...MNIST_CGAN, ...opts };
  const { classes, latent, labelInput } = config;
  if (!(Number.isInteger(classes) && classes >= 2)) {
    throw new RangeError(`makeCgan: classes must be an integer ≥ 2, got ${classes}`);
  }
  if (labelInput !== "projection" && labelInput !== "concat") {
    throw new Error(`makeCgan: labelInput must be "projection" or "concat", got ${JSON.stringify(labelInput)}`);
  }
  const nets = dcganNets(config);
  const head = nn.dense(1, { wInit: nn.normal(0.02) });
  const embed = nn.embedding(classes, nets.featureSize, { init: nn.normal(0.02) });

  const withLabelMaps = (x: Array, labels: Array) => {
    const [n, , h, w] = x.shape;
    const maps = np.broadcastTo(oneHot(labels, classes).reshape([n, classes, 1, 1]), [n, classes, h, w]);
    return np.concatenate([x, maps], 1);
  };
  const trainer = makeGanTrainer<CganD>({
    latent,
    init(key, imageShape) {
      const [kg, kb, kh, ke] = random.split(key, 4);
      const gi = nets.generator.init(kg, [1, latent + classes]);
      const inShape = labelInput === "concat"
        ? [1, imageShape[0] + classes, ...imageShape.slice(1)]
        : [1, ...imageShape];
      const d: CganD = {
        body: nets.bodyParams(kb, inShape),
        head: head.init(kh, [1, nets.featureSize]).params,
        embed: labelInput === "projection" ? embed.init(ke, [1]).params : null,
      };
      return { g: gi.params, gState: gi.state, d };
    },
    generate(g, s, z, labels, training) {
      const input = np.concatenate([z, oneHot(labels!, classes)], 1);
      return nets.generator.apply(g, input, { training, state: s });
    },
    discriminate(d, x, labels, key) {
      const h = nets.dFeatures(d.body, labelInput === "concat" ? withLabelMaps(x, labels!) : x, key);
      const logit = head.apply(d.head, h).reshape([x.shape[0]]);
      return d.embed ? logit.add(embed.apply(d.embed, labels!).mul(h).sum(1)) : logit;
    },
  }, config);
  return {
    latent,
    classes,
    config,
    init: trainer.init,
    step: (state, real, labels, key) => trainer.step(state, real, labels, key),
    sample: (state, z, labels) => trainer.sample(state, z, labels),
  };
}
