/**
 * CPU kernels of the elementwise primitives. Float math runs in float64 and rounds on store
 * into the Float32Array; int32 wraps (`|0`, `Math.imul`), uint32 wraps (`>>>0` or the
 * typed-array store), bool lives in Uint8Array as 0/1.
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import { allocPooled, allocUninit } from "../pool.ts";
import type { Aval } from "../../../array.ts";
import type { ElementwiseParams } from "../../../primitives/elementwise.ts";
import type { FamilyKernels, Kernel } from "../kernel_types.ts";
import type { NoParams } from "../../../primitives/types.ts";

type F1 = (x: number) => number;
type F2 = (x: number, y: number) => number;
type ByDType<F> = Partial<Record<DType, F>>;

function map1(x: TypedArray, out: TypedArray, f: F1): TypedArray {
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}
function map2(x: TypedArray, y: TypedArray, out: TypedArray, f: F2): TypedArray {
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i]);
  return out;
}

/** Monomorphic float32 loops for the hottest unary ops (the generic loop's call is megamorphic). */
function fastUnary(op: string, x: Float32Array, out: Float32Array): boolean {
  const n = x.length;
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) out[i] = -x[i];
      return true;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      return true;
    case "log":
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      return true;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      return true;
    case "rsqrt":
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]);
      return true;
    case "abs":
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      return true;
    case "tanh":
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return true;
    case "logistic":
      for (let i = 0; i < n; i++) out[i] = logistic(x[i]);
      return true;
  }
  return false;
}
/** Monomorphic float32 loops for the hottest binary ops. */
function fastBinary(op: string, x: Float32Array, y: Float32Array, out: Float32Array): boolean {
  const n = x.length;
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) out[i] = x[i] + y[i];
      return true;
    case "sub":
      for (let i = 0; i < n; i++) out[i] = x[i] - y[i];
      return true;
    case "mul":
      for (let i = 0; i < n; i++) out[i] = x[i] * y[i];
      return true;
    case "div":
      for (let i = 0; i < n; i++) out[i] = x[i] / y[i];
      return true;
    case "max":
      for (let i = 0; i < n; i++) out[i] = Math.max(x[i], y[i]);
      return true;
    case "min":
      for (let i = 0; i < n; i++) out[i] = Math.min(x[i], y[i]);
      return true;
  }
  return false;
}

/** A unary kernel choosing the scalar function by input dtype. */
function unaryK(fs: ByDType<F1>, fallback?: F1, fast?: string): Kernel<NoParams> {
  return ([x], [a], _p, [o]) => {
    const out = allocUninit(o.dtype, x.length);
    const f32 = a.dtype === "float32" && o.dtype === "float32";
    if (fast && f32 && fastUnary(fast, x as Float32Array, out as Float32Array)) return [out];
    const f = fs[a.dtype] ?? fallback;
    if (!f) throw new TypeError(`cpu kernel: unsupported dtype ${a.dtype}`);
    return [map1(x, out, f)];
  };
}
/** A unary float kernel. */
const floatK = (f: F1, fast?: string): Kernel<NoParams> => unaryK({ float32: f }, undefined, fast);

/** A binary kernel choosing the scalar function by operand dtype. */
function binaryK(fs: ByDType<F2>, fallback?: F2, fast?: string): Kernel<NoParams> {
  return ([x, y], [a], _p, [o]) => {
    const out = allocUninit(o.dtype, x.length);
    const f32 = a.dtype === "float32" && o.dtype === "float32";
    if (fast && f32 && fastBinary(fast, x as Float32Array, y as Float32Array, out as Float32Array)) return [out];
    const f = fs[a.dtype] ?? fallback;
    if (!f) throw new TypeError(`cpu kernel: unsupported dtype ${a.dtype}`);
    return [map2(x, y, out, f)];
  };
}

/** Round half to even, keeping the sign of zero. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}

/**
 * erf in float64: `2/√π · e^{-x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))` (all terms positive, so no
 * cancellation) for |x| < 4, and ±1 beyond (erfc(4) ≈ 1.5e-8 is below float32 resolution).
 */
export function erf(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax >= 4) return x > 0 ? 1 : -1;
  const x2 = ax * ax;
  let term = ax, sum = ax;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = Math.min(1, (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum);
  return x < 0 ? -r : r;
}

/** Numerically stable logistic sigmoid. */
export function logistic(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const INT_MIN = -2147483648, INT_MAX = 2147483647, UINT_MAX = 4294967295;

/** float → int32: truncate, NaN → 0, saturate. */
export const f2i = (
  x: number,
): number => (x !== x ? 0 : x <= INT_MIN ? INT_MIN : x >= INT_MAX ? INT_MAX : Math.trunc(x));
/** float → uint32: truncate, NaN → 0, saturate. */
export const f2u = (x: number): number => (x !== x ? 0 : x <= 0 ? 0 : x >= UINT_MAX ? UINT_MAX : Math.trunc(x));

function convertK([x]: TypedArray[], [a]: readonly Aval[], { dtype }: { dtype: DType }): TypedArray[] {
  const out = allocPooled(dtype, x.length);
  const from = a.dtype;
  if (dtype === "bool") {
    for (let i = 0; i < x.length; i++) out[i] = x[i] !== 0 ? 1 : 0;
  } else if (from === "float32" && dtype === "int32") map1(x, out, f2i);
  else if (from === "float32" && dtype === "uint32") map1(x, out, f2u);
  else out.set(x); // float32 target rounds; int32 ↔ uint32 wrap mod 2^32; bool is 0/1.
  return [out];
}

function bitcastK([x]: TypedArray[], _a: readonly Aval[], { dtype }: { dtype: DType }): TypedArray[] {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength).slice();
  switch (dtype) {
    case "float32":
      return [new Float32Array(bytes.buffer)];
    case "int32":
      return [new Int32Array(bytes.buffer)];
    case "uint32":
      return [new Uint32Array(bytes.buffer)];
    default:
      throw new TypeError(`bitcast: cannot bitcast to ${dtype}`);
  }
}

const idiv = (a: number, b: number) => (b === 0 ? 0 : (a / b) | 0);
const udiv = (a: number, b: number) => (b === 0 ? 0 : (a / b) >>> 0);
/** Integer remainder with the dividend's sign; x % 0 = x (so that x = (x/y)·y + x%y with x/0 = 0). */
const irem = (a: number, b: number) => (b === 0 ? a : a % b);
const shl = (a: number, b: number) => ((b >>> 0) >= 32 ? 0 : a << b);
const shr = (a: number, b: number) => ((b >>> 0) >= 32 ? 0 : a >>> b);
const fsign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : x);
const bool = (c: boolean) => (c ? 1 : 0);
/** C `pow`: like Math.pow except pow(1, y) = 1 and pow(-1, ±inf) = 1. */
export const cpow = (
  a: number,
  b: number,
): number => (a === 1 || (a === -1 && (b === Infinity || b === -Infinity)) ? 1 : Math.pow(a, b));

function cmp(f: (a: number, b: number) => boolean): Kernel<NoParams> {
  return ([x, y]) => {
    const out = new Uint8Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = bool(f(x[i], y[i]));
    return [out];
  };
}

/** Kernels of the elementwise primitives. */
export const elementwiseKernels: FamilyKernels<ElementwiseParams> = {
  neg: unaryK({ float32: (x) => -x, int32: (x) => -x | 0, uint32: (x) => (-x) >>> 0 }, undefined, "neg"),
  exp: floatK(Math.exp, "exp"),
  log: floatK(Math.log, "log"),
  log1p: floatK(Math.log1p),
  expm1: floatK(Math.expm1),
  sin: floatK(Math.sin),
  cos: floatK(Math.cos),
  tanh: floatK(Math.tanh, "tanh"),
  logistic: floatK(logistic, "logistic"),
  sqrt: floatK(Math.sqrt, "sqrt"),
  rsqrt: floatK((x) => 1 / Math.sqrt(x), "rsqrt"),
  abs: unaryK({ float32: Math.abs, int32: (x) => Math.abs(x) | 0, uint32: (x) => x }, undefined, "abs"),
  sign: unaryK({ float32: fsign, int32: fsign, uint32: (x) => (x > 0 ? 1 : 0) }),
  floor: floatK(Math.floor),
  ceil: floatK(Math.ceil),
  round: floatK(roundHalfEven),
  erf: floatK(erf),
  isnan: floatK((x) => bool(x !== x)),
  not: unaryK({ bool: (x) => (x ? 0 : 1) }, (x) => ~x),

  add: binaryK(
    {
      float32: (a, b) => a + b,
      int32: (a, b) => (a + b) | 0,
      uint32: (a, b) => (a + b) >>> 0,
      bool: (a, b) => a | b,
    },
    undefined,
    "add",
  ),
  sub: binaryK(
    { float32: (a, b) => a - b, int32: (a, b) => (a - b) | 0, uint32: (a, b) => (a - b) >>> 0 },
    undefined,
    "sub",
  ),
  mul: binaryK(
    {
      float32: (a, b) => a * b,
      int32: Math.imul,
      uint32: (a, b) => Math.imul(a, b) >>> 0,
      bool: (a, b) => a & b,
    },
    undefined,
    "mul",
  ),
  div: binaryK({ float32: (a, b) => a / b, int32: idiv, uint32: udiv }, undefined, "div"),
  pow: binaryK({ float32: cpow }),
  max: binaryK({}, Math.max, "max"),
  min: binaryK({}, Math.min, "min"),
  atan2: binaryK({ float32: Math.atan2 }),
  rem: binaryK({ float32: (a, b) => a % b }, irem),
  eq: cmp((a, b) => a === b),
  ne: cmp((a, b) => a !== b),
  lt: cmp((a, b) => a < b),
  le: cmp((a, b) => a <= b),
  gt: cmp((a, b) => a > b),
  ge: cmp((a, b) => a >= b),
  and: binaryK({}, (a, b) => a & b),
  or: binaryK({}, (a, b) => a | b),
  xor: binaryK({}, (a, b) => a ^ b),
  shiftLeft: binaryK({}, shl),
  shiftRightLogical: binaryK({}, shr),

  select: ([p, a, b], _avals, _p, [o]) => {
    const out = allocUninit(o.dtype, a.length);
    if (o.dtype === "bool") {
      for (let i = 0; i < a.length; i++) out[i] = p[i] ? a[i] : b[i];
      return [out];
    }
    // A branch-free bit select on the 32-bit words (data-dependent predicates mispredict).
    const [x, y, z] = [a, b, out].map((t) => new Int32Array(t.buffer, t.byteOffset, t.length));
    for (let i = 0; i < a.length; i++) {
      const m = -(p[i] !== 0);
      z[i] = (x[i] & m) | (y[i] & ~m);
    }
    return [out];
  },
  convert: convertK,
  bitcast: bitcastK,
  stopGradient: ([x]) => [x],
};
