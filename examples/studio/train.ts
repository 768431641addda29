/**
 * The studio's own small models, for when the model examples have not run yet: a narrow DCGAN,
 * a narrow cGAN and a small VAE, trained for a fixed number of steps with the training kit's
 * progress line and saved with its checkpoint manager in `out/studio/<model>/`, in the same
 * layout as the examples' checkpoints (so one loader reads both).
 * @module
 */
import { join } from "node:path";
import { type Array, random } from "../../mod.ts";
import {
  type Batch,
  batchStream,
  CheckpointManager,
  type Dataset,
  GAN_METRICS,
  type GanMetrics,
  makeCgan,
  makeDcgan,
  makeVae,
  MNIST_CGAN,
  MNIST_DCGAN,
  type RunConfig,
  TrainLog,
} from "../../models/mod.ts";
import type { ModelName } from "./models.ts";

/** Steps of each small GAN by default (`--train-steps`); the VAE and the upscaler take a multiple. */
export const DEFAULT_STEPS = 200;

/** The small models' shapes and how many steps each takes per `--train-steps` step. */
export const SMALL = {
  // Narrow GANs at twice the examples' learning rate, sampled with a moving average of G's weights:
  // strokes in 200 steps where the examples' settings still draw grey blobs. Without the examples'
  // refining convolution and D's batch norm, which double a step's cost (45 CPU-s each, not 22).
  dcgan: {
    width: 16,
    latent: MNIST_DCGAN.latent,
    batch: 64,
    learningRate: 1e-3,
    ema: 0.98,
    refine: false,
    dBatchNorm: false,
  },
  cgan: {
    width: 16,
    latent: MNIST_CGAN.latent,
    batch: 64,
    learningRate: 1e-3,
    ema: 0.98,
    refine: false,
    dBatchNorm: false,
  },
  vae: { latent: 16, hidden: 256, batch: 100, stepsPer: 3 },
  upscaler: { stepsPer: 1 },
} as const;

/** Options of `trainSmall`. */
export interface TrainSmallOptions {
  /** Steps to train. */
  steps: number;
  /** The training images in [-1, 1] (the VAE rescales them to [0, 1]). */
  data: Dataset;
  /** Random seed. */
  seed?: number;
  /** Silence the progress line (tests). */
  quiet?: boolean;
}

/**
 * Trains one small model and saves it in `dir` (a checkpoint folder).
 *
 * @param name The model.
 * @param dir Where its checkpoint goes.
 * @param opts Steps, data, seed.
 * @returns The checkpoint's path.
 */
export async function trainSmall(name: ModelName, dir: string, opts: TrainSmallOptions): Promise<string> {
  const { steps, data, seed = 0 } = opts;
  const [kInit, kData, kSteps] = random.split(random.key(seed), 3);
  const out = join(dir, "..");
  const progress = opts.quiet ? { write: () => {} } : undefined;
  const ckpt = new CheckpointManager(dir, { keep: 1 });
  if (name === "vae") {
    const s = SMALL.vae;
    const vae = makeVae({ latent: s.latent, hidden: s.hidden, learningRate: 2e-3 });
    const images = { ...data, images: data.images.map((v) => (v + 1) / 2) };
    let state = vae.init(kInit);
    const log = await TrainLog.open({ out, names: ["loss", "rec", "kl"], total: steps, progress, title: "small VAE" });
    for await (const b of batchStream(images, { batchSize: s.batch, key: kData, steps })) {
      const [next, m] = vae.step(state, b.x, random.foldIn(kSteps, b.step));
      state = next;
      await log.step(b.step + 1, b.epoch, m);
    }
    log.done();
    const config: RunConfig = { model: "vae", arch: "dense", latent: s.latent, hidden: s.hidden, steps, seed };
    return await ckpt.save(steps, { state }, { epoch: 0, config });
  }
  const s = SMALL[name];
  const settings = {
    width: s.width,
    learningRate: s.learningRate,
    dLearningRate: s.learningRate,
    ema: s.ema,
    refine: s.refine,
    dBatchNorm: s.dBatchNorm,
  };
  const log = await TrainLog.open({ out, names: GAN_METRICS, total: steps, progress, title: `small ${name}` });
  /** Trains from `state` with `step` on the batches; returns the last state. */
  const loop = async <S>(state: S, step: (s: S, b: Batch, key: Array) => [S, GanMetrics]): Promise<S> => {
    for await (const b of batchStream(data, { batchSize: s.batch, key: kData, steps })) {
      const [next, m] = step(state, b, random.foldIn(kSteps, b.step));
      state = next;
      await log.step(b.step + 1, b.epoch, { ...m });
    }
    log.done();
    return state;
  };
  const config: RunConfig = {
    model: name,
    arch: "compact",
    latent: s.latent,
    width: s.width,
    lr: s.learningRate,
    ema: s.ema,
    steps,
    seed,
  };
  if (name === "cgan") {
    const gan = makeCgan({ ...MNIST_CGAN, ...settings });
    const state = await loop(gan.init(kInit), (st, b, key) => gan.step(st, b.x, b.y, key));
    return await ckpt.save(steps, { state }, { epoch: 0, config: { ...config, classes: gan.classes } });
  }
  // No clusters for the small DCGAN: 200 steps are too few for 50 of them to pay.
  const gan = makeDcgan({ ...MNIST_DCGAN, ...settings, clusters: 0 });
  const state = await loop(gan.init(kInit), (st, b, key) => gan.step(st, b.x, key));
  return await ckpt.save(steps, { state }, { epoch: 0, config: { ...config, codes: gan.config.codes } });
}
