/**
 * Counter-based random numbers (threefry2x32), bit-compatible with JAX's default
 * ("partitionable") threefry implementation. Keys are explicit uint32[2] arrays.
 * @module
 */
import { Array } from "./array.ts";
import { checkShape, fmt, sizeOf } from "./shape.ts";
import { bind, bind1, bitcast, broadcastInDim, convert, reshape } from "./primitives/ops.ts";
import { type ArrayLike, asArray } from "./np/util.ts";
import * as np from "./numpy.ts";
import { jit } from "./transforms/jit.ts";

/**
 * `f` for eager callers runs as one jitted program (fused into a few loops on cpu, one submit
 * on webgpu) instead of a dozen full-size eager ops; inside a trace it is inlined as usual.
 */
function jitWhenEager<R extends unknown[]>(f: (key: Array, ...rest: R) => Array): (key: Array, ...rest: R) => Array {
  const j = jit(f, { staticArgnums: [1, 2, 3] });
  return (key, ...rest) => (key?.storage ? j(key, ...rest) : f(key, ...rest));
}

/** A short description of a value that is not a key, for error messages. */
function describe(x: unknown): string {
  if (x instanceof Array) return `an array of ${x.dtype}${fmt(x.aval.shape)}`;
  if (typeof x === "string") return `the string ${JSON.stringify(x)}`;
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint") return `the ${typeof x} ${x}`;
  if (x === null || x === undefined) return String(x);
  return globalThis.Array.isArray(x) ? "a plain list" : typeof x === "object" ? "a plain object" : `a ${typeof x}`;
}

/** Checks `key` is a PRNG key, with an error that says what a key is and how to make one. */
function checkKey(key: unknown, op: string): Array {
  if (key instanceof Array && key.dtype === "uint32" && key.ndim === 1 && key.aval.shape[0] === 2) return key;
  throw new TypeError(
    `random.${op}: expected a PRNG key, got ${describe(key)}. A key is a uint32 array of shape [2]: ` +
      `make one with random.key(seed) (e.g. random.key(42)) and derive more with random.split(key)`,
  );
}

/** Checks a sample shape the user passed. */
const checkSampleShape = (shape: number[], op: string): number[] => checkShape(`random.${op}`, shape);

/** The two uint32 words of a (checked) key, as scalars. */
function keyWords(key: Array): [Array, Array] {
  const k0 = reshape(bind1("slice", [key], { start: [0], limit: [1], strides: [1] }), []);
  const k1 = reshape(bind1("slice", [key], { start: [1], limit: [2], strides: [1] }), []);
  return [k0, k1];
}

/** threefry2x32 of a key over counters `(hi, lo)` = the flat index of each element of `shape`. */
function hashShape(key: Array, shape: number[], op: string): [Array, Array] {
  const [k0, k1] = keyWords(key);
  const n = sizeOf(shape);
  if (n >= 2 ** 32) throw new RangeError(`random.${op}: ${n} values exceed the 2^32 counter range`);
  const lo = reshape(bind1("iota", [], { shape: [n], dtype: "uint32", dimension: 0 }), shape);
  const hi = broadcastInDim(convert(asArray(0, "uint32"), "uint32"), shape, []);
  const b = (k: Array) => broadcastInDim(k, shape, []);
  const [y0, y1] = bind("threefry2x32", [b(k0), b(k1), hi, lo], {});
  return [y0, y1];
}

/**
 * A PRNG key from an integer seed, like `jax.random.key(seed)`: `[0, seed]` for seeds below
 * 2^32 (negative int32 seeds as their uint32 bits, as JAX with 32-bit ints), `[hi, lo]` words
 * for larger safe integers (as JAX with 64-bit ints), so distinct seeds give distinct keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * const k = random.key(0);
 * assert(k.dtype === "uint32" && k.shape[0] === 2);
 * ```
 */
export function key(seed: number): Array {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < -(2 ** 31)) {
    throw new TypeError(
      `random.key: seed must be an integer from -2^31 to 2^53 - 1, got ${
        typeof seed === "number" ? seed : describe(seed)
      }`,
    );
  }
  return np.array(new Uint32Array([seed < 0 ? 0 : Math.floor(seed / 2 ** 32), seed >>> 0]));
}

/**
 * `num` new independent keys, as a list (destructure it) of uint32[2] keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * const [a, b] = random.split(random.key(0));
 * assert(a.shape.join() === "2" && b.shape.join() === "2");
 * ```
 */
export function split(key: Array, num = 2): Array[] {
  checkKey(key, "split");
  if (!Number.isInteger(num) || num < 0) {
    throw new TypeError(`random.split: num must be a non-negative integer (how many keys), got ${describe(num)}`);
  }
  if (num === 0) return [];
  const [y0, y1] = hashShape(key, [num], "split");
  const keys = np.stack([y0, y1], 1);
  return np.split(keys, num, 0).map((k) => reshape(k, [2]));
}

/**
 * A key derived from `key` and an integer `data` (JAX's `fold_in`): a number from -2^31 to
 * 2^32 - 1 (negative ones as their uint32 bits) or an integer scalar array.
 */
export function foldIn(key: Array, data: ArrayLike): Array {
  const [k0, k1] = keyWords(checkKey(key, "foldIn"));
  const integral = typeof data === "number"
    ? Number.isInteger(data) && data >= -(2 ** 31) && data < 2 ** 32
    : data instanceof Array && data.ndim === 0 && (data.dtype === "int32" || data.dtype === "uint32");
  if (!integral) {
    throw new TypeError(
      `random.foldIn: data must be an integer from -2^31 to 2^32 - 1 or an int32/uint32 scalar array, got ${
        typeof data === "number" ? data : describe(data)
      }`,
    );
  }
  const d = typeof data === "number" ? asArray(data >>> 0, "uint32") : convert(data as Array, "uint32");
  const [y0, y1] = bind("threefry2x32", [k0, k1, convert(asArray(0, "uint32"), "uint32"), reshape(d, [])], {});
  return np.stack([y0, y1]);
}

/** Checks the bounds of a sampler are plain numbers. */
function checkBounds(op: string, minval: unknown, maxval: unknown): void {
  if (typeof minval !== "number" || typeof maxval !== "number") {
    throw new TypeError(
      `random.${op}: minval and maxval must be plain numbers, got ${describe(minval)} and ${describe(maxval)}; ` +
        `scale and shift the samples with np ops for array bounds`,
    );
  }
}

/** Uniform random uint32 bits of `shape`. */
export function bits(key: Array, shape: number[] = []): Array {
  return bitsJ(checkKey(key, "bits"), checkSampleShape(shape, "bits"));
}
const bitsJ = jitWhenEager((key: Array, shape: number[]): Array => {
  const [y0, y1] = hashShape(key, shape, "bits");
  return bind1("xor", [y0, y1], {});
});

/** Options of the float samplers. */
export interface UniformOptions {
  /** Lower bound (default 0). */
  minval?: number;
  /** Upper bound, exclusive (default 1). */
  maxval?: number;
}

/**
 * Uniform float32 samples in `[minval, maxval)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * const u = random.uniform(random.key(1), [1000]);
 * const m = await u.mean().item();
 * assert(m > 0.45 && m < 0.55);
 * ```
 */
export function uniform(key: Array, shape: number[] = [], opts: UniformOptions = {}): Array {
  const { minval = 0, maxval = 1 } = opts;
  checkBounds("uniform", minval, maxval);
  return uniformJ(checkKey(key, "uniform"), checkSampleShape(shape, "uniform"), minval, maxval);
}
const uniformJ = jitWhenEager((key: Array, shape: number[], minval: number, maxval: number): Array => {
  const b = bitsJ(key, shape);
  const mant = bind1("shiftRightLogical", [b, broadcastInDim(convert(asArray(9, "uint32"), "uint32"), shape, [])], {});
  const one = broadcastInDim(convert(asArray(0x3f800000, "uint32"), "uint32"), shape, []);
  const f = np.subtract(bitcast(bind1("or", [mant, one], {}), "float32"), 1);
  return np.maximum(minval, np.add(np.multiply(f, maxval - minval), minval));
});

/** Inverse error function (Giles' single-precision approximation, as XLA uses). */
export function erfinv(x: ArrayLike): Array {
  const a = asArray(x);
  const w0 = np.negative(np.log(np.multiply(np.subtract(1, a), np.add(1, a))));
  const horner = (w: Array, cs: number[]) =>
    cs.slice(1).reduce((p, c) => np.add(c, np.multiply(p, w)), np.fullLike(w, cs[0]));
  const small = horner(np.subtract(w0, 2.5), [
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
  ]);
  const big = horner(np.subtract(np.sqrt(w0), 3), [
    -0.000200214257,
    0.000100950558,
    0.00134934322,
    -0.00367342844,
    0.00573950773,
    -0.0076224613,
    0.00943887047,
    1.00167406,
    2.83297682,
  ]);
  return np.multiply(np.where(np.less(w0, 5), small, big), a);
}

/**
 * Standard normal float32 samples (`sqrt(2) * erfinv(u)` with `u` uniform in (-1, 1), as JAX).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * const z = random.normal(random.key(0), [2000]);
 * assert(Math.abs(await z.mean().item()) < 0.1);
 * ```
 */
export function normal(key: Array, shape: number[] = []): Array {
  return normalJ(checkKey(key, "normal"), checkSampleShape(shape, "normal"));
}
const normalJ = jitWhenEager((key: Array, shape: number[]): Array => {
  const lo = Math.fround(-1 + 2 ** -24) === -1 ? -0.99999994 : -1 + 2 ** -24;
  return np.multiply(Math.SQRT2, erfinv(uniformJ(key, shape, lo, 1)));
});

/** Bernoulli samples (bool) with probability `p` of true. */
export function bernoulli(key: Array, p: ArrayLike = 0.5, shape?: number[]): Array {
  checkKey(key, "bernoulli");
  const pa = asArray(p, "float32");
  const s = shape === undefined ? [...pa.aval.shape] : checkSampleShape(shape, "bernoulli");
  return np.less(uniform(key, s), pa);
}

/** Integers uniformly in `[minval, maxval)` (int32). */
export function randint(key: Array, shape: number[], minval: number, maxval: number): Array {
  checkKey(key, "randint");
  checkSampleShape(shape, "randint");
  checkBounds("randint", minval, maxval);
  if (![minval, maxval].every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v <= 2 ** 31)) {
    throw new TypeError(
      `random.randint: minval and maxval must be integers in the int32 range (maxval up to 2^31), got ${minval} and ${maxval}`,
    );
  }
  if (!(maxval > minval)) throw new RangeError(`random.randint: maxval ${maxval} must exceed minval ${minval}`);
  const u = uniform(key, shape);
  return convert(np.add(np.floor(np.multiply(u, maxval - minval)), minval), "int32");
}

/** Samples category indices from unnormalised log-probabilities along `axis` (Gumbel-max). */
export function categorical(key: Array, logits: Array, axis = -1): Array {
  checkKey(key, "categorical");
  if (!(logits instanceof Array)) {
    throw new TypeError(`random.categorical: logits must be an array, got ${describe(logits)}`);
  }
  return np.argmax(np.add(logits, gumbel(key, [...logits.aval.shape])), { axis });
}

/**
 * A random permutation of `n` integers (or of the first axis of an array), by ranking
 * random bits (O(n²) comparisons: meant for n up to a few thousand; shuffle datasets on the host).
 */
export function permutation(key: Array, x: number | Array): Array {
  checkKey(key, "permutation");
  if (typeof x === "number" ? !Number.isInteger(x) || x < 0 : !(x instanceof Array) || x.ndim === 0) {
    throw new TypeError(
      `random.permutation: expected a non-negative integer or an array with at least one axis, got ${
        typeof x === "number" ? x : describe(x)
      }`,
    );
  }
  const n = typeof x === "number" ? x : x.aval.shape[0];
  if (n > 8192) {
    throw new RangeError(
      `random.permutation: n = ${n} is too large for the comparison-based permutation (max 8192); shuffle indices on the host`,
    );
  }
  const b = bits(key, [n]);
  const col = np.reshape(b, [n, 1]);
  const row = np.reshape(b, [1, n]);
  const idx = np.arange(n);
  const before = np.logicalOr(
    np.less(row, col),
    np.logicalAnd(np.equal(row, col), np.less(np.reshape(idx, [1, n]), np.reshape(idx, [n, 1]))),
  );
  const rank = np.sum(before, { axis: 1 });
  const order = bind1("scatterAdd", [np.zeros([n], { dtype: "int32" }), rank, idx], { axis: 0 });
  return typeof x === "number" ? order : np.take(x, order, 0);
}

/** Samples from a standard Gumbel distribution. */
export function gumbel(key: Array, shape: number[] = []): Array {
  checkKey(key, "gumbel");
  const u = uniform(key, checkSampleShape(shape, "gumbel"), { minval: 1.1754944e-38, maxval: 1 });
  return np.negative(np.log(np.negative(np.log(u))));
}
