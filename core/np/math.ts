/**
 * Elementwise math with numpy broadcasting and JAX-style promotion.
 * @module
 */
import type { Array } from "../array.ts";
import { isFloat } from "../dtype.ts";
import type { BinaryName, UnaryName } from "../primitives/params.ts";
import { bind1, convert, select as selectP } from "../primitives/ops.ts";
import { type ArrayLike, asArray, broadcastTo, elementwiseArgs, promoteFor } from "./util.ts";
import { broadcastShapes } from "../shape.ts";

type BinPrim = Exclude<BinaryName, "shiftLeft" | "shiftRightLogical">;
const bin = (prim: BinPrim, op: string) => (a: ArrayLike, b: ArrayLike): Array => {
  const [x, y] = elementwiseArgs(op, a, b);
  return bind1(prim, [x, y], {});
};
const toFloat = (x: Array) => (isFloat(x.dtype) ? x : convert(x, "float32"));
const un = (prim: UnaryName, float: boolean) => (x: ArrayLike): Array => {
  const a = asArray(x);
  return bind1(prim, [float ? toFloat(a) : a], {});
};

/**
 * `a + b` with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert(JSON.stringify(await np.add(np.array([1, 2]), 1).tolist()) === "[2,3]");
 * ```
 */
export const add: (a: ArrayLike, b: ArrayLike) => Array = bin("add", "add");
/** `a - b`. */
export const subtract: (a: ArrayLike, b: ArrayLike) => Array = bin("sub", "subtract");
/** `a * b`. */
export const multiply: (a: ArrayLike, b: ArrayLike) => Array = bin("mul", "multiply");
/** Elementwise maximum (NaN propagates). */
export const maximum: (a: ArrayLike, b: ArrayLike) => Array = bin("max", "maximum");
/** Elementwise minimum (NaN propagates). */
export const minimum: (a: ArrayLike, b: ArrayLike) => Array = bin("min", "minimum");
/** `a == b`. */
export const equal: (a: ArrayLike, b: ArrayLike) => Array = bin("eq", "equal");
/** `a != b`. */
export const notEqual: (a: ArrayLike, b: ArrayLike) => Array = bin("ne", "notEqual");
/** `a < b`. */
export const less: (a: ArrayLike, b: ArrayLike) => Array = bin("lt", "less");
/** `a <= b`. */
export const lessEqual: (a: ArrayLike, b: ArrayLike) => Array = bin("le", "lessEqual");
/** `a > b`. */
export const greater: (a: ArrayLike, b: ArrayLike) => Array = bin("gt", "greater");
/** `a >= b`. */
export const greaterEqual: (a: ArrayLike, b: ArrayLike) => Array = bin("ge", "greaterEqual");
/** Remainder with the sign of the dividend (C fmod / `lax.rem`). */
export const rem: (a: ArrayLike, b: ArrayLike) => Array = bin("rem", "rem");
/** `atan2(a, b)`. */
export const arctan2 = (a: ArrayLike, b: ArrayLike): Array =>
  bin("atan2", "arctan2")(toFloat(asArray(a)), toFloat(asArray(b)));

/** True division; integers are promoted to float32. */
export function divide(a: ArrayLike, b: ArrayLike): Array {
  const [x, y] = elementwiseArgs("divide", a, b);
  return bind1("div", [toFloat(x), toFloat(y)], {});
}
/** `a ** b` (float32). */
export function power(a: ArrayLike, b: ArrayLike): Array {
  const [x, y] = elementwiseArgs("power", a, b);
  return bind1("pow", [toFloat(x), toFloat(y)], {});
}
/** Floor division. */
export function floorDivide(a: ArrayLike, b: ArrayLike): Array {
  const [x, y] = elementwiseArgs("floorDivide", a, b);
  if (isFloat(x.dtype)) return floor(bind1("div", [x, y], {}));
  return convert(floor(divide(x, y)), x.dtype);
}
/** Python-style modulo (sign of the divisor). */
export function mod(a: ArrayLike, b: ArrayLike): Array {
  const [x, y] = elementwiseArgs("mod", a, b);
  const r = bind1("rem", [x, y], {});
  const zero = asArray(0, x.dtype);
  const fix = logicalAnd(notEqual(r, zero), notEqual(less(r, zero), less(y, zero)));
  return where(fix, add(r, y), r);
}
/** Logical and of truthy values. */
export const logicalAnd = (a: ArrayLike, b: ArrayLike): Array =>
  bin("and", "logicalAnd")(notEqual(a, 0), notEqual(b, 0));
/** Logical or. */
export const logicalOr = (a: ArrayLike, b: ArrayLike): Array => bin("or", "logicalOr")(notEqual(a, 0), notEqual(b, 0));
/** Logical xor. */
export const logicalXor = (a: ArrayLike, b: ArrayLike): Array =>
  bin("xor", "logicalXor")(notEqual(a, 0), notEqual(b, 0));
/** Logical not. */
export const logicalNot = (a: ArrayLike): Array => bind1("not", [notEqual(a, 0)], {});

/** `-x`. */
export const negative: (x: ArrayLike) => Array = un("neg", false);
/** `|x|`. */
export const abs: (x: ArrayLike) => Array = un("abs", false);
/** Sign (-1, 0, 1). */
export const sign: (x: ArrayLike) => Array = un("sign", false);
/**
 * `e ** x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * assert((await np.exp(0).item()) === 1);
 * ```
 */
export const exp: (x: ArrayLike) => Array = un("exp", true);
/** Natural log. */
export const log: (x: ArrayLike) => Array = un("log", true);
/** `log(1 + x)`, accurate near 0. */
export const log1p: (x: ArrayLike) => Array = un("log1p", true);
/** `exp(x) - 1`, accurate near 0. */
export const expm1: (x: ArrayLike) => Array = un("expm1", true);
/** Square root. */
export const sqrt: (x: ArrayLike) => Array = un("sqrt", true);
/** `1 / sqrt(x)`. */
export const rsqrt: (x: ArrayLike) => Array = un("rsqrt", true);
/** Sine. */
export const sin: (x: ArrayLike) => Array = un("sin", true);
/** Cosine. */
export const cos: (x: ArrayLike) => Array = un("cos", true);
/** Tangent. */
export const tan = (x: ArrayLike): Array => divide(sin(x), cos(x));
/** Hyperbolic tangent. */
export const tanh: (x: ArrayLike) => Array = un("tanh", true);
/** Error function. */
export const erf: (x: ArrayLike) => Array = un("erf", true);
/** Logistic sigmoid `1 / (1 + e^-x)`. */
export const sigmoid: (x: ArrayLike) => Array = un("logistic", true);
/** Round down. */
export const floor = (x: ArrayLike): Array => (isFloat(asArray(x).dtype) ? un("floor", false)(x) : asArray(x));
/** Round up. */
export const ceil = (x: ArrayLike): Array => (isFloat(asArray(x).dtype) ? un("ceil", false)(x) : asArray(x));
/** Round half to even. */
export const round = (x: ArrayLike): Array => (isFloat(asArray(x).dtype) ? un("round", false)(x) : asArray(x));
/** True where NaN. */
export const isnan = (x: ArrayLike): Array => {
  const a = asArray(x);
  return isFloat(a.dtype) ? bind1("isnan", [a], {}) : notEqual(a, a);
};
/** True where finite (not NaN or ±Infinity). */
export const isfinite = (x: ArrayLike): Array => {
  const a = asArray(x);
  return isFloat(a.dtype) ? less(abs(a), Infinity) : equal(a, a);
};
/** `x * x`. */
export const square = (x: ArrayLike): Array => multiply(x, x);
/** `1 / x`. */
export const reciprocal = (x: ArrayLike): Array => divide(1, x);

/**
 * `cond ? a : b` elementwise, with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const x = np.array([-1, 2]);
 * assert(JSON.stringify(await np.where(x.greater(0), x, 0).tolist()) === "[0,2]");
 * ```
 */
export function where(cond: ArrayLike, a: ArrayLike, b: ArrayLike): Array {
  const c = asArray(cond);
  const p = c.dtype === "bool" ? c : notEqual(c, 0);
  const [x, y] = promoteFor("where", [a, b]);
  const shape = broadcastShapes("where", p.aval.shape, x.aval.shape, y.aval.shape);
  return selectP(broadcastTo(p, shape, "where"), broadcastTo(x, shape, "where"), broadcastTo(y, shape, "where"));
}

/**
 * Clips values into `[lo, hi]` (either may be null), as `minimum(maximum(x, lo), hi)`: NaN
 * stays NaN, and at a bound the derivative is 0.5 (a tie of `maximum`/`minimum`), as in `jnp`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const y = await np.clip(np.array([-5, 0.5, NaN]), 0, 1).data();
 * assert(y[0] === 0 && y[1] === 0.5 && Number.isNaN(y[2]));
 * ```
 */
export function clip(x: ArrayLike, lo: ArrayLike | null, hi: ArrayLike | null): Array {
  let y = asArray(x);
  if (lo !== null) y = maximum(y, lo);
  if (hi !== null) y = minimum(y, hi);
  return y;
}
