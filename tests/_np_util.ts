/** Shared helpers of the np/lax tests. */
import assert from "node:assert/strict";
import type { Array } from "../mod.ts";

export const tol = { atol: 1e-5, rtol: 1e-5 };
export const list = (x: Array) => x.tolist();
export async function eq(x: Array, want: unknown, dtype?: string) {
  assert.deepEqual(await x.tolist(), want);
  if (dtype) assert.equal(x.dtype, dtype);
}
/** Deterministic pseudo-random values in [-1, 1). */
export function rnd(n: number, seed = 1): number[] {
  let s = seed;
  return globalThis.Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.round(((s / 2147483648) * 2 - 1) * 1000) / 1000;
  });
}
export const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
export const idx = (s: number[], ...i: number[]) => i.reduce((acc, v, k) => acc * s[k] + v, 0);
