/**
 * Parameter initializers: functions `(key, shape, fans?) -> Array` made by small factories,
 * as in `jax.nn.initializers`. Layers pass the fan-in/fan-out of their weight layout; called
 * alone, an initializer reads them from the shape (last axis out, second-to-last in, the rest
 * a receptive field).
 * @module
 */
import { type Array, np, random } from "../mod.ts";

/** Fan-in and fan-out of a weight (inputs and outputs per unit, receptive field included). */
export interface Fans {
  /** Number of inputs each output sees. */
  fanIn: number;
  /** Number of outputs each input reaches. */
  fanOut: number;
}

/** An initializer: a fresh float32 array of `shape` drawn with `key`. */
export type Initializer = (key: Array, shape: number[], fans?: Fans) => Array;

/**
 * Fans of a weight of `shape`, JAX's default reading: the last axis is the output, the one
 * before it the input, and the others a receptive field that multiplies both.
 *
 * @param shape The weight's shape.
 * @returns `{ fanIn, fanOut }`.
 *
 * @example A dense weight and a 3×3 kernel stored HWIO
 * ```ts
 * import assert from "node:assert";
 * import { fansOf } from "@wax/wax/nn";
 * assert(fansOf([784, 128]).fanIn === 784 && fansOf([3, 3, 16, 32]).fanOut === 288);
 * ```
 */
export function fansOf(shape: number[]): Fans {
  if (shape.length < 2) {
    const n = shape[0] ?? 1;
    return { fanIn: n, fanOut: n };
  }
  const field = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2] * field, fanOut: shape[shape.length - 1] * field };
}

type Mode = "fanIn" | "fanOut" | "fanAvg";
function varianceScaling(scale: number, mode: Mode, dist: "uniform" | "normal"): Initializer {
  return (key, shape, fans = fansOf(shape)) => {
    const n = mode === "fanIn" ? fans.fanIn : mode === "fanOut" ? fans.fanOut : (fans.fanIn + fans.fanOut) / 2;
    const variance = scale / Math.max(1, n);
    if (dist === "normal") return random.normal(key, shape).mul(Math.sqrt(variance));
    const limit = Math.sqrt(3 * variance);
    return random.uniform(key, shape, { minval: -limit, maxval: limit });
  };
}

/**
 * Glorot (Xavier) uniform: `U(-a, a)` with `a = sqrt(6 / (fanIn + fanOut))`.
 *
 * @returns The initializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { glorotUniform } from "@wax/wax/nn";
 * const w = glorotUniform()(random.key(0), [100, 50]);
 * assert((await w.abs().max().item()) <= Math.sqrt(6 / 150));
 * ```
 */
export function glorotUniform(): Initializer {
  return varianceScaling(1, "fanAvg", "uniform");
}

/**
 * Glorot (Xavier) normal: `N(0, 2 / (fanIn + fanOut))`.
 *
 * @returns The initializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { glorotNormal } from "@wax/wax/nn";
 * const w = glorotNormal()(random.key(0), [200, 200]);
 * assert(Math.abs((await w.square().mean().item()) - 1 / 200) < 5e-4);
 * ```
 */
export function glorotNormal(): Initializer {
  return varianceScaling(1, "fanAvg", "normal");
}

/**
 * He (Kaiming) uniform, for ReLU networks: `U(-a, a)` with `a = sqrt(6 / fanIn)`.
 *
 * @returns The initializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { heUniform } from "@wax/wax/nn";
 * const w = heUniform()(random.key(0), [24, 10]);
 * assert((await w.abs().max().item()) <= 0.5);
 * ```
 */
export function heUniform(): Initializer {
  return varianceScaling(2, "fanIn", "uniform");
}

/**
 * He (Kaiming) normal: `N(0, 2 / fanIn)`.
 *
 * @returns The initializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { heNormal } from "@wax/wax/nn";
 * const w = heNormal()(random.key(0), [200, 200]);
 * assert(Math.abs((await w.square().mean().item()) - 0.01) < 1e-3);
 * ```
 */
export function heNormal(): Initializer {
  return varianceScaling(2, "fanIn", "normal");
}

/**
 * A normal initializer with a fixed standard deviation (DCGAN uses 0.02).
 *
 * @param std The standard deviation (default 0.01).
 * @returns The initializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { normal } from "@wax/wax/nn";
 * const w = normal(0.02)(random.key(0), [100, 100]);
 * assert(Math.abs((await w.square().mean().sqrt().item()) - 0.02) < 1e-3);
 * ```
 */
export function normal(std = 0.01): Initializer {
  return (key, shape) => random.normal(key, shape).mul(std);
}

/**
 * The all-zeros initializer (the default for biases).
 *
 * @returns The initializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { zeros } from "@wax/wax/nn";
 * assert((await zeros()(random.key(0), [3]).sum().item()) === 0);
 * ```
 */
export function zeros(): Initializer {
  return (_key, shape) => np.zeros(shape);
}

/**
 * The all-ones initializer (the default for normalisation scales).
 *
 * @returns The initializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { ones } from "@wax/wax/nn";
 * assert((await ones()(random.key(0), [3]).sum().item()) === 3);
 * ```
 */
export function ones(): Initializer {
  return (_key, shape) => np.ones(shape);
}
