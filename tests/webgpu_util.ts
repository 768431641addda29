/**
 * Shared helpers of the WebGPU tests: skipping without an adapter, deterministic data,
 * tolerant comparison and per-primitive cpu/webgpu parity.
 */
import assert from "node:assert/strict";
import "../mod.ts";
import type { Array, Aval } from "../core/array.ts";
import { allocTyped, type DType, type TypedArray } from "../core/dtype.ts";
import { sizeOf } from "../core/shape.ts";
import { type Backend, fromHost } from "../core/backend/backend.ts";
import { cpu } from "../core/backend/cpu/mod.ts";
import { rules } from "../core/rules.ts";
import type { KernelName, Params } from "../core/primitives/types.ts";
import { createWebGpu, type WebGpuBackend } from "../core/backend/webgpu/mod.ts";

const adapter = await globalThis.navigator?.gpu?.requestAdapter().catch(() => null);
/** Deno.test options: skipped without a WebGPU adapter. */
export const gpuTest = { ignore: !adapter, sanitizeResources: false, sanitizeOps: false };
let gpu: WebGpuBackend | null = null;
/** The WebGPU backend (created on first use). */
export async function webgpu(): Promise<WebGpuBackend> {
  return gpu ??= await createWebGpu();
}

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296;
}
/** Deterministic test data of a dtype. */
export function data(dtype: DType, n: number, lo = -3, hi = 3): TypedArray {
  const out = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    out[i] = dtype === "float32"
      ? lo + (hi - lo) * r
      : dtype === "bool"
      ? (r < 0.5 ? 1 : 0)
      : dtype === "int32"
      ? Math.floor(lo * 10 + (hi - lo) * 10 * r)
      : Math.floor(r * (hi - lo) * 10);
  }
  return out;
}

/** An operand: data (generated when a number range is given) and aval. */
export interface In {
  shape: number[];
  dtype: DType;
  values?: ArrayLike<number>;
  lo?: number;
  hi?: number;
}
/** Shorthand for an operand. */
export const I = (
  shape: number[],
  dtype: DType = "float32",
  values?: ArrayLike<number>,
  lo?: number,
  hi?: number,
): In => ({
  shape,
  dtype,
  values,
  lo,
  hi,
});

/** Compares typed arrays: integers exactly, floats within rtol·|expected| + atol, NaN where NaN. */
export function assertClose(got: TypedArray, want: TypedArray, dtype: DType, what: string, rtol = 1e-5, atol = 1e-6) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (dtype !== "float32") {
      if (g !== w) assert.fail(`${what}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (!(Number.isNaN(w) && Number.isNaN(g))) assert.fail(`${what}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    if (g === w) continue;
    if (!(Math.abs(g - w) <= rtol * Math.abs(w) + atol)) assert.fail(`${what}[${i}]: got ${g}, want ${w}`);
  }
}

/** Runs `prim` on cpu and webgpu with the same inputs and compares every output. */
export async function parity<K extends KernelName>(
  prim: K,
  ins: In[],
  params: Params[K],
  tol: { rtol?: number; atol?: number } = {},
): Promise<void> {
  const g = await webgpu();
  const host = ins.map((x) => {
    const n = sizeOf(x.shape);
    if (x.values) {
      const d = allocTyped(x.dtype, n);
      for (let i = 0; i < n; i++) d[i] = x.values[i % x.values.length];
      return d;
    }
    return data(x.dtype, n, x.lo, x.hi);
  });
  const avals: Aval[] = ins.map((x) => ({ shape: x.shape, dtype: x.dtype }));
  const outAvals = (rules[prim].abstractEval as (a: Aval[], p: Params[K]) => Aval[])(avals, params);
  const run = (b: Backend) => {
    const args = host.map((d, i) => fromHost(d, avals[i], b));
    const outs: Array[] = b.execute(prim, args, params, outAvals);
    return Promise.all(outs.map((o) => o.data()));
  };
  const [want, got] = [await run(cpu), await run(g)];
  want.forEach((w, i) =>
    assertClose(
      got[i],
      w,
      outAvals[i].dtype,
      `${prim} out ${i} ${JSON.stringify(ins.map((x) => x.shape))}`,
      tol.rtol,
      tol.atol,
    )
  );
}
