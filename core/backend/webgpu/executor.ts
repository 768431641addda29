/**
 * Runs traced programs on the device: every equation's dispatches are recorded into the
 * pending encoder (no readback, no submit), each intermediate buffer going back to the pool
 * after its last use so later equations reuse it. Chains of elementwise equations are fused
 * into single kernels (see fusion.ts); structural primitives run through their rules on the
 * device's buffer model (reference-counted buffers), also defined here.
 * @module
 */
import type { Aval } from "../../array.ts";
import type { Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import { ruleOf } from "../../primitives/registry.ts";
import type { KernelName } from "../../primitives/params.ts";
import type { Buffers } from "../../primitives/types.ts";
import type { Buf, Gpu } from "./device.ts";
import type { GpuKernel, GpuKernels } from "./kernel_types.ts";
import { planFusion, type Step } from "./fusion.ts";

interface Plan {
  steps: Step[];
  /** Per step, the variables whose last use it is. */
  frees: Var[][];
}
const plans = new WeakMap<Jaxpr, Plan>();

function planOf(j: Jaxpr): Plan {
  let p = plans.get(j);
  if (p) return p;
  const steps = planFusion(j);
  const lastUse = new Map<Var, number>();
  steps.forEach((s, k) => s.inputs.forEach((v) => lastUse.set(v, k)));
  j.outs.forEach((v) => lastUse.set(v, Infinity));
  const frees = steps.map((s, k) => [...new Set(s.inputs)].filter((v) => lastUse.get(v) === k));
  p = { steps, frees };
  plans.set(j, p);
  return p;
}

/**
 * Records program `j` on `ins` (the caller keeps its references). Returns the outputs, each
 * with one reference for the caller.
 */
function runProgram(gpu: Gpu, j: Jaxpr, ins: Buf[], kernels: GpuKernels, buffers: Buffers<Buf>): Buf[] {
  const { steps, frees } = planOf(j);
  const env = new Map<Var, Buf>();
  j.inVars.forEach((v, i) => {
    ins[i].refs++;
    const prev = env.get(v);
    if (prev) gpu.release(prev);
    env.set(v, ins[i]);
  });
  gpu.recording++;
  const context = gpu.context;
  try {
    steps.forEach((s, k) => {
      // Errors name the step (a primitive, or a fused kernel's results) inside the program.
      gpu.context = { op: `${context?.op ?? "jit"} > ${s.prim ?? "fused kernel"}`, avals: s.outAvals };
      const args = s.inputs.map((v) => env.get(v)!);
      const structural = s.prim && ruleOf(s.prim).run;
      const outs = s.run
        ? s.run(gpu, args)
        : structural
        ? structural(buffers, args, s.params as never)
        : (kernels[s.prim as KernelName] as GpuKernel<unknown>)(gpu, args, s.inAvals, s.params, s.outAvals);
      s.outs.forEach((v, i) => env.set(v, outs[i]));
      for (const v of frees[k]) {
        gpu.release(env.get(v)!);
        env.delete(v);
      }
    });
    return j.outs.map((v) => {
      const b = env.get(v)!;
      b.refs++;
      return b;
    });
  } finally {
    gpu.recording--;
    gpu.context = context;
    for (const b of env.values()) gpu.release(b);
  }
}

/**
 * The device's buffer model over the kernel table: reference-counted buffers, rows of a
 * stacked value copied into buffers of their own.
 */
export function gpuBuffers(gpu: Gpu, kernels: GpuKernels): Buffers<Buf> {
  const bytes = (a: Aval) => 4 * sizeOf(a.shape);
  const buffers: Buffers<Buf> = {
    program: (j, ins) => runProgram(gpu, j, ins, kernels, buffers),
    alloc: (a) => gpu.alloc(bytes(a)),
    row: (x, row, t) => {
      const n = bytes(row);
      const r = gpu.alloc(n);
      gpu.copy(x.buffer, t * n, r.buffer, 0, n);
      return r;
    },
    setRow: (dst, src, row, t) => gpu.copy(src.buffer, 0, dst.buffer, t * bytes(row), bytes(row)),
    retain: (b) => void b.refs++,
    release: (b) => gpu.release(b),
    own: (outs) => outs,
    pin: (bufs) => {
      bufs.forEach((b) => b.refs++);
      return () => bufs.forEach((b) => gpu.release(b));
    },
  };
  return buffers;
}
