/**
 * Runs traced programs on the cpu: `jitCall`, `customVjpCall` and `scan` interpret their
 * program over host typed arrays with the kernel table, releasing each intermediate after
 * its last use. Compiled plans are cached per program.
 * @module
 */
import type { Aval } from "../../array.ts";
import type { TypedArray } from "../../dtype.ts";
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import type { ScanParams } from "../../primitives/scan.ts";
import type { StructureParams } from "../../primitives/structure.ts";
import type { CpuKernels, FamilyKernels } from "./kernel_types.ts";
import { fusedKernel, fusion } from "./fusion.ts";
import { broadcastAliases, type Item, partition } from "./fusion_plan.ts";
import { gatherStrided } from "./kernels/movement.ts";
import { allocPooled, recycle } from "./pool.ts";

export { fusion } from "./fusion.ts";

type Plan = (ins: TypedArray[]) => TypedArray[];

/** Per-primitive time spent in cpu kernels inside programs, when profiling is on. */
export const profile: { enabled: boolean; ms: Map<string, number>; calls: Map<string, number> } = {
  enabled: false,
  ms: new Map(),
  calls: new Map(),
};
const structural = new Set(["jitCall", "customVjpCall", "scan"]);
const plans = new WeakMap<Jaxpr, Plan>();
const fusedPlans = new WeakMap<Jaxpr, Plan>();

/** One step of a plan: a kernel or a fused loop over env values, and what it frees after. */
interface Step {
  run: (ins: TypedArray[]) => TypedArray[];
  reads: Var[];
  writes: Var[];
  prim: string;
  free: Var[];
}

/** Kernel-call steps, one per equation. */
function eqnStep(e: Eqn, kernels: CpuKernels): Omit<Step, "free"> {
  const kernel = kernels[e.prim] as (
    ins: TypedArray[],
    a: readonly Aval[],
    p: unknown,
    o: readonly Aval[],
  ) => TypedArray[];
  const inAvals = e.inputs.map((v) => v.aval), outAvals = e.outs.map((v) => v.aval);
  return { run: (ins) => kernel(ins, inAvals, e.params, outAvals), reads: e.inputs, writes: e.outs, prim: e.prim };
}

/** Steps of the fused plan: groups become generated loops, broadcasts are materialised only where needed. */
function fusedSteps(j: Jaxpr, kernels: CpuKernels): Omit<Step, "free">[] {
  const aliases = broadcastAliases(j);
  const items = partition(j, aliases);
  const direct = new Set<Var>(j.outs);
  for (const it of items) if (it.kind === "eqn") it.eqn.inputs.forEach((v) => direct.add(v));
  // Reads of every item (group reads resolve broadcasts to their sources).
  const groupReads = new Map<Item, { v: Var; src: Var; strides: number[] }[]>();
  const read = new Set<Var>(j.outs);
  for (const it of items) {
    if (it.kind === "eqn") it.eqn.inputs.forEach((v) => read.add(v));
    else if (it.kind === "bcast") {
      if (direct.has(it.eqn.outs[0])) read.add(it.alias.src);
    } else {
      const made = new Set(it.eqns.flatMap((e) => e.outs));
      const seen = new Map<Var, { v: Var; src: Var; strides: number[] }>();
      for (const e of it.eqns) {
        for (const v of e.inputs) {
          if (made.has(v) || seen.has(v)) continue;
          const a = aliases.get(v);
          seen.set(v, { v, src: a ? a.src : v, strides: a ? a.strides : stridesOf(v.aval.shape) });
          read.add(a ? a.src : v);
        }
      }
      groupReads.set(it, [...seen.values()]);
    }
  }
  const steps: Omit<Step, "free">[] = [];
  for (const it of items) {
    if (it.kind === "eqn") steps.push(eqnStep(it.eqn, kernels));
    else if (it.kind === "bcast") {
      const o = it.eqn.outs[0], { src, strides } = it.alias;
      if (!direct.has(o)) continue;
      const run = ([x]: TypedArray[]) => [gatherStrided(x, 0, strides, o.aval.shape, o.aval.dtype)];
      steps.push({ run, reads: [src], writes: [o], prim: "broadcastInDim" });
    } else {
      const reads = groupReads.get(it)!;
      const writes = it.eqns.flatMap((e) => e.outs).filter((v) => read.has(v));
      if (writes.length === 0) continue;
      const index = new Map(reads.map((r, k) => [r.v, k]));
      const run = fusedKernel<Var>({
        shape: it.shape,
        reads: reads.map((r) => ({ v: r.v, dtype: r.v.aval.dtype, strides: r.strides })),
        eqns: it.eqns.map((e) => ({
          prim: e.prim,
          params: e.params,
          ins: e.inputs.map((v) => index.get(v) ?? v),
          inDtypes: e.inputs.map((v) => v.aval.dtype),
          outs: e.outs,
          outDtypes: e.outs.map((v) => v.aval.dtype),
        })),
        outs: writes.map((v) => ({ v, dtype: v.aval.dtype })),
      });
      steps.push({ run, reads: reads.map((r) => r.src), writes, prim: "fused" });
    }
  }
  return steps;
}

/**
 * A plan that runs `j` with `kernels`: a fixed list of steps with precomputed frees. With
 * fusion on (`fusion.enabled`, default) runs of elementwise equations run as generated loops.
 */
export function compile(j: Jaxpr, kernels: CpuKernels): Plan {
  const cache = fusion.enabled ? fusedPlans : plans;
  const cached = cache.get(j);
  if (cached) return cached;
  const raw = fusion.enabled ? fusedSteps(j, kernels) : j.eqns.map((e) => eqnStep(e, kernels));
  const lastUse = new Map<Var, number>();
  raw.forEach((s, k) => s.reads.forEach((v) => lastUse.set(v, k)));
  j.outs.forEach((v) => lastUse.set(v, Infinity));
  // A value nobody reads (an unused output of a multi-output kernel) dies right after its step.
  const steps: Step[] = raw.map((s, k) => ({
    ...s,
    free: [...new Set([...s.reads, ...s.writes])].filter((v) => (lastUse.get(v) ?? k) === k),
  }));
  const plan: Plan = (ins) => {
    const env = new Map<Var, TypedArray>();
    // Holders per storage: kernels may return an input itself (reshape) or a view of it, so
    // storage goes back to the pool only when its last holder dies and the caller does not own it.
    const holders = new Map<ArrayBufferLike, number>();
    const hold = (a: TypedArray) => holders.set(a.buffer, (holders.get(a.buffer) ?? 0) + 1);
    const external = new Set(ins.map((a) => a.buffer));
    j.inVars.forEach((v, i) => {
      env.set(v, ins[i]);
      hold(ins[i]);
    });
    for (const s of steps) {
      const t0 = profile.enabled ? performance.now() : 0;
      const outs = s.run(s.reads.map((v) => env.get(v)!));
      if (profile.enabled && !structural.has(s.prim)) {
        profile.ms.set(s.prim, (profile.ms.get(s.prim) ?? 0) + performance.now() - t0);
        profile.calls.set(s.prim, (profile.calls.get(s.prim) ?? 0) + 1);
      }
      s.writes.forEach((v, i) => {
        env.set(v, outs[i]);
        hold(outs[i]);
      });
      for (const v of s.free) {
        const a = env.get(v)!;
        env.delete(v);
        const n = holders.get(a.buffer)! - 1;
        if (n > 0) holders.set(a.buffer, n);
        else {
          holders.delete(a.buffer);
          if (!external.has(a.buffer)) recycle(a);
        }
      }
    }
    return j.outs.map((v) => env.get(v)!);
  };
  cache.set(j, plan);
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
  const ys = yAvals.map((a, i) => allocPooled(a.dtype, ySizes[i] * p.length));
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
