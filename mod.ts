/**
 * wax: a functional machine-learning framework for Deno. JAX's model — pure functions over
 * parameter trees, composable transforms (`grad`, `jvp`, `vjp`, `vmap`, `jit`) — over a
 * WebGPU backend, with a fast cpu backend beside it.
 *
 * @example Fit a line with grad and jit
 * ```ts
 * import assert from "node:assert";
 * import { grad, jit, np, type Array } from "@wax/wax";
 * const x = np.linspace(-1, 1, 32);
 * const y = x.mul(3).add(1);
 * const loss = (p: { w: Array; b: Array }) => x.mul(p.w).add(p.b).sub(y).square().mean();
 * const step = jit((p: { w: Array; b: Array }) => {
 *   const g = grad(loss)(p);
 *   return { w: p.w.sub(g.w.mul(0.5)), b: p.b.sub(g.b.mul(0.5)) };
 * });
 * let p = { w: np.array(0), b: np.array(0) };
 * for (let i = 0; i < 200; i++) p = step(p);
 * assert((await loss(p).item()) < 1e-4);
 * ```
 * @module
 */
import "./core/rules.ts";
import "./core/backend/cpu/mod.ts";
import { hasHardwareAdapter } from "./core/backend/webgpu/mod.ts";
import { type BackendName, useBackend } from "./core/backend/backend.ts";

export {
  Array,
  type At,
  type AtOf,
  type Aval,
  type BufferOwner,
  type Index,
  type IndexList,
  type IndexOf,
  memoryStats,
  type Operand,
  type Slice,
  type Storage,
} from "./core/array.ts";
export type { DType, TypedArray } from "./core/dtype.ts";
export * as np from "./core/numpy.ts";
export * as lax from "./core/lax.ts";
export * as random from "./core/random.ts";
export * as tree from "./core/tree.ts";
export type { ArrayLeaves, ArrayTree, Leaf, Leaves, MapLeaves, PyTree } from "./core/tree.ts";
export { jvp } from "./core/transforms/jvp.ts";
export { type Axes, vmap, type VmapOptions } from "./core/transforms/vmap.ts";
export {
  type Argnums,
  type AuxOf,
  grad,
  type GradOptions,
  type GradsOf,
  linearize,
  type Scalar,
  valueAndGrad,
  vjp,
} from "./core/transforms/ad.ts";
export { hessian, jacfwd, type Jacobian, type JacobianOptions, jacrev } from "./core/transforms/jacobian.ts";
export { jit, type JitOptions, type Jitted, type WithNumbers } from "./core/transforms/jit.ts";
export { customVjp, stopGradient } from "./core/transforms/custom.ts";
export { evalShape, makeJaxpr, type ShapeTree } from "./core/transforms/staging.ts";
export { type BackendName, backends, useBackend } from "./core/backend/backend.ts";
export {
  allclose,
  assertAllclose,
  checkGrads,
  type CheckGradsOptions,
  type NestedNumbers,
  type Numeric,
  type Tolerance,
} from "./core/testing.ts";
export { Jaxpr } from "./core/ir.ts";
export { load, loadMetadata, save } from "./core/io.ts";

// `WAX_BACKEND=webgpu` (or `cpu`) selects the default backend at import, when env access is
// granted; otherwise webgpu is the default only on a hardware adapter (software ones are slow).
const envBackend = Deno.permissions.querySync?.({ name: "env", variable: "WAX_BACKEND" }).state === "granted"
  ? Deno.env.get("WAX_BACKEND")
  : undefined;
if (envBackend) await useBackend(envBackend as BackendName);
else if (await hasHardwareAdapter()) {
  await useBackend("webgpu").catch((e) => console.warn(`wax: staying on cpu; the WebGPU device failed: ${e.message}`));
}
