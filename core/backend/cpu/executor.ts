/**
 * Runs traced programs on the cpu: `jitCall`, `customVjpCall` and `scan` interpret their
 * program over host typed arrays with the kernel table, releasing each intermediate after
 * its last use. Compiled plans are cached per program.
 * @module
 */
import type { Aval } from "../../array.ts";
import { allocTyped, type TypedArray } from "../../dtype.ts";
import type { Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import type { ScanParams } from "../../primitives/scan.ts";
import type { StructureParams } from "../../primitives/structure.ts";
import type { CpuKernels, FamilyKernels } from "./kernel_types.ts";

type Plan = (ins: TypedArray[]) => TypedArray[];

/** Per-primitive time spent in cpu kernels inside programs, when profiling is on. */
export const profile: { enabled: boolean; ms: Map<string, number>; calls: Map<string, number> } = {
  enabled: false,
  ms: new Map(),
  calls: new Map(),
};
const structural = new Set(["jitCall", "customVjpCall", "scan"]);
const plans = new WeakMap<Jaxpr, Plan>();

/** A plan that runs `j` with `kernels`: a fixed list of steps with precomputed frees. */
export function compile(j: Jaxpr, kernels: CpuKernels): Plan {
  const cached = plans.get(j);
  if (cached) return cached;
  const lastUse = new Map<Var, number>();
  j.eqns.forEach((e, k) => e.inputs.forEach((v) => lastUse.set(v, k)));
  j.outs.forEach((v) => lastUse.set(v, Infinity));
  const steps = j.eqns.map((e, k) => ({
    kernel: kernels[e.prim] as (ins: TypedArray[], a: readonly Aval[], p: unknown, o: readonly Aval[]) => TypedArray[],
    inputs: e.inputs,
    inAvals: e.inputs.map((v) => v.aval),
    outAvals: e.outs.map((v) => v.aval),
    params: e.params,
    prim: e.prim,
    outs: e.outs,
    free: [...new Set(e.inputs)].filter((v) => lastUse.get(v) === k),
  }));
  const plan: Plan = (ins) => {
    const env = new Map<Var, TypedArray>();
    j.inVars.forEach((v, i) => env.set(v, ins[i]));
    for (const s of steps) {
      const t0 = profile.enabled ? performance.now() : 0;
      const outs = s.kernel(s.inputs.map((v) => env.get(v)!), s.inAvals, s.params, s.outAvals);
      if (profile.enabled && !structural.has(s.prim)) {
        profile.ms.set(s.prim, (profile.ms.get(s.prim) ?? 0) + performance.now() - t0);
        profile.calls.set(s.prim, (profile.calls.get(s.prim) ?? 0) + 1);
      }
      s.outs.forEach((v, i) => env.set(v, outs[i]));
      for (const v of s.free) env.delete(v);
    }
    return j.outs.map((v) => env.get(v)!);
  };
  plans.set(j, plan);
  return plan;
}

function runScan(ins: TypedArray[], p: ScanParams, kernels: CpuKernels): TypedArray[] {
  const body = compile(p.jaxpr, kernels);
  const consts = ins.slice(0, p.numConsts);
  let carry = ins.slice(p.numConsts, p.numConsts + p.numCarry);
  const xs = ins.slice(p.numConsts + p.numCarry);
  const xAvals = p.jaxpr.inAvals.slice(p.numConsts + p.numCarry);
  const xSizes = xAvals.map((a) => sizeOf(a.shape));
  const yAvals = p.jaxpr.outAvals.slice(p.numCarry);
  const ySizes = yAvals.map((a) => sizeOf(a.shape));
  const ys = yAvals.map((a, i) => allocTyped(a.dtype, ySizes[i] * p.length));
  for (let it = 0; it < p.length; it++) {
    const t = p.reverse ? p.length - 1 - it : it;
    const slices = xs.map((x, i) => x.subarray(t * xSizes[i], (t + 1) * xSizes[i]) as TypedArray);
    const outs = body([...consts, ...carry, ...slices]);
    carry = outs.slice(0, p.numCarry);
    outs.slice(p.numCarry).forEach((y, i) => ys[i].set(y, t * ySizes[i]));
  }
  return [...carry, ...ys];
}

/** Kernels of the structured primitives, given the full table to run bodies with. */
export function structureKernels(all: () => CpuKernels): FamilyKernels<StructureParams> {
  return {
    jitCall: (ins, _a, p) => compile(p.jaxpr, all())(ins),
    customVjpCall: (ins, _a, p) => compile(p.jaxpr, all())(ins),
    customLin: () => {
      throw new Error(
        "customVjp: the linear part of a customVjp function cannot be evaluated forward (jvp); use grad or vjp",
      );
    },
    scan: (ins, _a, p) => runScan(ins, p, all()),
  };
}
