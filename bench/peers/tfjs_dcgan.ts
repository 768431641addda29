/**
 * The DCGAN train step of `models/dcgan.ts` (the TensorFlow DCGAN tutorial model) written in
 * TensorFlow.js layers, NHWC: G dense 100→7·7·256 (no bias), BN, LeakyReLU(0.3), reshape,
 * convT 5×5→128 s1, BN, LeakyReLU, convT 5×5→64 s2, BN, LeakyReLU, convT 5×5→1 s2, tanh;
 * D conv 5×5→64 s2, LeakyReLU, dropout 0.3, conv 5×5→128 s2, LeakyReLU, dropout, flatten,
 * dense→1. BCE-with-logits losses, Adam(1e-4) on both, one D update then one G update.
 * @module
 */
import type * as tfjs from "@tensorflow/tfjs";

type TF = typeof tfjs;

/** Losses of one step, read back to the host. */
export interface TfjsDcganLosses {
  /** Discriminator loss. */
  d: number;
  /** Generator loss. */
  g: number;
}

/**
 * Builds the generator, discriminator and optimizers, and returns a function running one
 * train step on a fixed batch of `batch` random "real" images (NHWC [batch, 28, 28, 1], in
 * [-0.5, 0.5]) that resolves once both losses are read back. `realData` overrides the batch.
 */
export function makeTfjsDcganStep(
  tf: TF,
  batch: number,
  realData?: Float32Array,
): () => Promise<TfjsDcganLosses> {
  const latent = 100;
  const init = () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02 });
  const g = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [latent], units: 7 * 7 * 256, useBias: false, kernelInitializer: init() }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU({ alpha: 0.3 }),
      tf.layers.reshape({ targetShape: [7, 7, 256] }),
      tf.layers.conv2dTranspose({
        filters: 128,
        kernelSize: 5,
        strides: 1,
        padding: "same",
        useBias: false,
        kernelInitializer: init(),
      }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU({ alpha: 0.3 }),
      tf.layers.conv2dTranspose({
        filters: 64,
        kernelSize: 5,
        strides: 2,
        padding: "same",
        useBias: false,
        kernelInitializer: init(),
      }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU({ alpha: 0.3 }),
      tf.layers.conv2dTranspose({ filters: 1, kernelSize: 5, strides: 2, padding: "same", kernelInitializer: init() }),
      tf.layers.activation({ activation: "tanh" }),
    ],
  });
  const d = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 64,
        kernelSize: 5,
        strides: 2,
        padding: "same",
        kernelInitializer: init(),
      }),
      tf.layers.leakyReLU({ alpha: 0.3 }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.conv2d({ filters: 128, kernelSize: 5, strides: 2, padding: "same", kernelInitializer: init() }),
      tf.layers.leakyReLU({ alpha: 0.3 }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1 }),
    ],
  });
  const gVars = g.trainableWeights.map((w) => w.read() as tfjs.Variable);
  const dVars = d.trainableWeights.map((w) => w.read() as tfjs.Variable);
  const gOpt = tf.train.adam(1e-4);
  const dOpt = tf.train.adam(1e-4);
  const real = realData
    ? tf.tensor4d(realData, [batch, 28, 28, 1])
    : tf.randomUniform([batch, 28, 28, 1], -0.5, 0.5, "float32", 5);
  const ones = tf.ones([batch, 1]), zeros = tf.zeros([batch, 1]);
  const bce = (labels: tfjs.Tensor, logits: tfjs.Tensor) => tf.losses.sigmoidCrossEntropy(labels, logits);
  const gen = (z: tfjs.Tensor) => g.apply(z, { training: true }) as tfjs.Tensor;
  const disc = (x: tfjs.Tensor) => d.apply(x, { training: true }) as tfjs.Tensor;

  return async () => {
    const [dl, gl] = tf.tidy(() => {
      // Discriminator update (the fake batch is a constant for it).
      const fake = gen(tf.randomNormal([batch, latent]));
      const dl = dOpt.minimize(() => bce(ones, disc(real)).add(bce(zeros, disc(fake))) as tfjs.Scalar, true, dVars)!;
      // Generator update through the updated discriminator.
      const z = tf.randomNormal([batch, latent]);
      const gl = gOpt.minimize(() => bce(ones, disc(gen(z))) as tfjs.Scalar, true, gVars)!;
      return [dl, gl];
    });
    const [dv, gv] = await Promise.all([dl.data(), gl.data()]);
    dl.dispose();
    gl.dispose();
    return { d: dv[0], g: gv[0] };
  };
}
