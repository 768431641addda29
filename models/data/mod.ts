/**
 * `wax/data`: data sets for the reference models. MNIST and Fashion-MNIST from a folder, an
 * npm package, a cache or a checked download (`loadMnist`), the IDX format (`parseIdx`,
 * `encodeIdx`), and shuffled batches from an explicit key (`batches`, `batchStream`).
 * Loading data imports nothing but wax's core.
 *
 * @example Shuffled batches of the MNIST test set
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { batches, loadMnist } from "@wax/wax/data";
 * const data = await loadMnist({ split: "test", limit: 64 });
 * for await (const { x, y } of batches(data, { batchSize: 32, key: random.key(0) })) {
 *   assert.deepEqual(x.shape, [32, 1, 28, 28]);
 *   assert.deepEqual(y.shape, [32]);
 * }
 * ```
 * @module
 */
export * from "./idx.ts";
export * from "./sources.ts";
export * from "./mnist.ts";
export * from "./batches.ts";
