/**
 * Runs traced programs on the device: `jitCall`, `customVjpCall` and `scan` record every
 * equation's dispatches into the pending encoder (no readback, no submit), releasing each
 * intermediate buffer to the pool after its last use so later equations reuse it.
 * Chains of elementwise equations are fused into single kernels (see fusion.ts).
 * @module
 */
import type { Aval } from "../../array.ts";
import type { Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import type { ScanParams } from "../../primitives/scan.ts";
import type { StructureParams } from "../../primitives/structure.ts";
import type { Buf, Gpu } from "./device.ts";
import type { GpuFamily, GpuKernel, GpuKernels } from "./kernel_types.ts";
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
export function runProgram(gpu: Gpu, j: Jaxpr, ins: Buf[], kernels: GpuKernels): Buf[] {
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
      const outs = s.run
        ? s.run(gpu, args)
        : (kernels[s.prim!] as GpuKernel<unknown>)(gpu, args, s.inAvals, s.params, s.outAvals);
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

function runScan(gpu: Gpu, ins: Buf[], p: ScanParams, kernels: GpuKernels): Buf[] {
  const consts = ins.slice(0, p.numConsts);
  let carry = ins.slice(p.numConsts, p.numConsts + p.numCarry);
  carry.forEach((b) => b.refs++);
  const xs = ins.slice(p.numConsts + p.numCarry);
  const xAvals = p.jaxpr.inAvals.slice(p.numConsts + p.numCarry);
  const xBytes = xAvals.map((a) => 4 * sizeOf(a.shape));
  const yAvals = p.jaxpr.outAvals.slice(p.numCarry);
  const yBytes = yAvals.map((a) => 4 * sizeOf(a.shape));
  const ys = yBytes.map((n) => gpu.alloc(n * p.length));
  for (let it = 0; it < p.length; it++) {
    const t = p.reverse ? p.length - 1 - it : it;
    const slices = xs.map((x, i) => {
      const s = gpu.alloc(xBytes[i]);
      gpu.copy(x.buffer, t * xBytes[i], s.buffer, 0, xBytes[i]);
      return s;
    });
    const outs = runProgram(gpu, p.jaxpr, [...consts, ...carry, ...slices], kernels);
    slices.forEach((s) => gpu.release(s));
    carry.forEach((b) => gpu.release(b));
    carry = outs.slice(0, p.numCarry);
    outs.slice(p.numCarry).forEach((y, i) => {
      gpu.copy(y.buffer, 0, ys[i].buffer, t * yBytes[i], yBytes[i]);
      gpu.release(y);
    });
  }
  return [...carry, ...ys];
}

/** Kernels of the structured primitives, given the full table to run bodies with. */
export function structureKernels(all: () => GpuKernels): GpuFamily<StructureParams> {
  return {
    jitCall: (gpu, ins, _a, p) => runProgram(gpu, p.jaxpr, ins, all()),
    customVjpCall: (gpu, ins, _a, p) => runProgram(gpu, p.jaxpr, ins, all()),
    customLin: () => {
      throw new Error(
        "customVjp: the linear part of a customVjp function cannot be evaluated forward (jvp); use grad or vjp",
      );
    },
    scan: (gpu, ins, _a, p) => runScan(gpu, ins, p, all()),
  };
}

/** Avals of a program's inputs (for callers building steps). */
export const inAvalsOf = (j: Jaxpr): Aval[] => j.inAvals;
