/**
 * The `np` namespace: numpy-style operations built only from wax's primitives, so they
 * work eagerly and under every transform.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const x = np.linspace(0, 1, 5);
 * assert((await np.mean(x).item()) === 0.5);
 * ```
 * @module
 */
import { type Array, arrayOps } from "./array.ts";
import * as math from "./np/math.ts";
import * as red from "./np/reduce.ts";
import * as sh from "./np/shape_ops.ts";
import * as la from "./np/linalg.ts";
import { convert } from "./primitives/ops.ts";
import { checkDType, type DType } from "./dtype.ts";
import { atIndex } from "./indexing.ts";

export type { Array } from "./array.ts";
export type { DType } from "./dtype.ts";
export type { ArrayLike } from "./np/util.ts";
export * from "./np/creation.ts";
export * from "./np/math.ts";
export * from "./np/reduce.ts";
export * from "./np/shape_ops.ts";
export * from "./np/linalg.ts";

/** Casts to `dtype`. */
export function astype(x: Array, dtype: DType): Array {
  return convert(x, checkDType(dtype, "astype"));
}

const binaries: Record<string, (a: Array, b: Array | number) => Array> = {
  add: math.add,
  sub: math.subtract,
  mul: math.multiply,
  div: math.divide,
  pow: math.power,
  maximum: math.maximum,
  minimum: math.minimum,
  equal: math.equal,
  less: math.less,
  greater: math.greater,
  matmul: (a, b) => la.matmul(a, b),
};
const unaries: Record<string, (a: Array) => Array> = {
  neg: math.negative,
  abs: math.abs,
  exp: math.exp,
  log: math.log,
  sqrt: math.sqrt,
  tanh: math.tanh,
  square: math.square,
};
Object.assign(arrayOps, {
  at: atIndex,
  binary: (name: string, a: Array, b: Array | number) => binaries[name](a, b),
  unary: (name: string, a: Array) => unaries[name](a),
  reduce: (name: string, a: Array, axis: number | number[] | null, keepdims: boolean) =>
    name === "argmax"
      ? red.argmax(a, { axis: axis as number | null })
      : (red as unknown as Record<string, (x: Array, o: object) => Array>)[name](a, { axis, keepdims }),
  reshape: sh.reshape,
  transpose: sh.transpose,
  astype,
  squeeze: sh.squeeze,
  expandDims: sh.expandDims,
});
