/** Shared helpers of the cpu kernel tests: run a kernel on typed arrays, seeded data, comparisons. */
import assert from "node:assert/strict";
import type { Aval } from "../core/array.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import type { Kernel } from "../core/backend/cpu/kernel_types.ts";
import { elementwiseKernels as E } from "../core/backend/cpu/kernels/elementwise.ts";
export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
export const strides = (s: readonly number[]) => s.map((_, i) => size(s.slice(i + 1)));
export const unravel = (f: number, s: readonly number[]) =>
  s.map((_, i) => Math.floor(f / size(s.slice(i + 1))) % s[i]);
export const av = (shape: number[], dtype: DType = "float32"): Aval => ({ shape, dtype });
export const [f32, i32, u32, b8] = [Float32Array, Int32Array, Uint32Array, Uint8Array].map((T) => (...v: number[]) =>
  new T(v)
) as [
  (...v: number[]) => Float32Array,
  (...v: number[]) => Int32Array,
  (...v: number[]) => Uint32Array,
  (...v: number[]) => Uint8Array,
];
/** Runs a one-output kernel. */
export function k1<P>(k: Kernel<P>, ins: TypedArray[], avals: Aval[], p: P, out: Aval): TypedArray {
  const r = k(ins, avals, p, [out]);
  assert.equal(r.length, 1);
  assert.equal(r[0].length, size(out.shape));
  return r[0];
}
/** Elementwise kernel on same-shaped 1-d inputs. */
export function ew(name: keyof typeof E, ins: TypedArray[], dtype: DType, outDtype: DType = dtype): number[] {
  const n = ins[0].length;
  const k = E[name] as Kernel<Record<string, never>>;
  return [...k1(k, ins, ins.map(() => av([n], dtype)), {}, av([n], outDtype))];
}
let seed = 7;
export const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
export const randF = (n: number) => Float32Array.from({ length: n }, rnd);
export const randI = (n: number, r = 10) => Int32Array.from({ length: n }, () => Math.round(rnd() * r));
export function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, msg = "") {
  assert.equal(a.length, b.length, `${msg} length`);
  for (let i = 0; i < a.length; i++) {
    const ok = (Number.isNaN(a[i]) && Number.isNaN(b[i])) || Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i]));
    assert.ok(ok, `${msg} [${i}]: ${a[i]} vs ${b[i]}`);
  }
}
export const norm = (v: ArrayLike<number>) => Array.from(v, (x) => (Object.is(x, -0) ? 0 : x));
export const same = (a: ArrayLike<number>, b: ArrayLike<number>, msg = "") => assert.deepEqual(norm(a), norm(b), msg);
