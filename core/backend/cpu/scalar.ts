/**
 * Scalar float64 helpers of the cpu elementwise maths, shared by the generated loops (plain
 * kernels and fused runs alike): rounding, erf, a stable logistic, saturating float→int
 * conversions and C's `pow`.
 * @module
 */

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

/** C `pow`: like Math.pow except pow(1, y) = 1 and pow(-1, ±inf) = 1. */
export const cpow = (
  a: number,
  b: number,
): number => (a === 1 || (a === -1 && (b === Infinity || b === -Infinity)) ? 1 : Math.pow(a, b));
