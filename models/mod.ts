/**
 * `wax/models`: reference models built from `wax/nn` and `wax/optim`, with what training them
 * needs: data sets (`./data/`, also exported alone as `wax/data`), the training kit
 * (`./train/`: flags, progress, history, checkpoints), metrics, and PNG output.
 *
 * @example Build the DCGAN and sample from it
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { makeDcgan } from "@wax/wax/models";
 * const gan = makeDcgan();
 * const state = gan.init(random.key(0));
 * const images = gan.sample(state, random.normal(random.key(1), [2, gan.latent]));
 * assert.equal(images.shape.join(), "2,1,28,28");
 * ```
 * @module
 */
export * from "./autoencoder.ts";
export * from "./gan.ts";
export * from "./gan_example.ts";
export * from "./dcgan.ts";
export * from "./cgan.ts";
export * from "./classifier.ts";
export * from "./data/mod.ts";
export * from "./image.ts";
export * from "./kmeans.ts";
export * from "./metrics.ts";
export * from "./metrics_mnist.ts";
export * from "./plot/mod.ts";
export * from "./train/mod.ts";
export * from "./vae.ts";
