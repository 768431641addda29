/**
 * `wax/models`: reference models built from `wax/nn` and `wax/optim`.
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
export * from "./dcgan.ts";
export * from "./data.ts";
export * from "./image.ts";
