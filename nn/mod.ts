/**
 * `wax/nn`: layers as pairs of pure functions (`init(key, inputShape)` and
 * `apply(params, x, opts)`), composed with `serial`; activations; initializers; and losses
 * that are stable for any logits. Parameters are plain pytrees, keys are explicit, and
 * batch-norm statistics come back as new state.
 *
 * @example Train a tiny classifier step
 * ```ts
 * import assert from "node:assert";
 * import { grad, np, random, type tree } from "@wax/wax";
 * import { conv2d, dense, flatten, maxPool, relu, serial, softmaxCrossEntropy } from "@wax/wax/nn";
 * const net = serial({ conv1: conv2d(4, 3, { padding: "SAME" }), act: relu, pool: maxPool(2), flat: flatten(), out: dense(10) });
 * const { params } = net.init(random.key(0), [2, 1, 8, 8]);
 * const x = random.normal(random.key(1), [2, 1, 8, 8]);
 * const y = np.array([3, 7], { dtype: "int32" });
 * const g = grad((p: typeof params) => softmaxCrossEntropy(net.apply(p, x), y))(params);
 * assert(g.conv1.w.shape.join() === "4,1,3,3");
 * ```
 * @module
 */
export * from "./activations.ts";
export * from "./init.ts";
export * from "./layer.ts";
export * from "./linear.ts";
export * from "./pooling.ts";
export * from "./normalization.ts";
export * from "./reshape.ts";
export * from "./dropout.ts";
export * from "./losses.ts";
