/**
 * Runs traced programs on the cpu: a plan is a fixed list of steps (kernel calls, fused loops
 * from fusion_plan.ts, structural primitives run through their rules) with each intermediate
 * released after its last use. Plans are cached per program. Also the cpu buffer model that
 * structural primitives run on (see `Buffers` in primitives/types.ts).
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import { ruleOf } from "../../primitives/registry.ts";
import type { KernelName } from "../../primitives/params.ts";
import type { Buffers } from "../../primitives/types.ts";
import type { CpuKernels, Kernel } from "./kernel_types.ts";
import { fusion } from "./fusion.ts";
import { fusedSteps, type PlanStep } from "./fusion_plan.ts";
import { allocPooled, pin, recycle } from "./pool.ts";

export { fusion } from "./fusion.ts";

type Plan = (ins: TypedArray[]) => TypedArray[];

/**
 * Time spent in cpu kernels inside programs, when profiling is on: per primitive, or per
 * primitive and input sizes (e.g. "convGeneralDilated 401408,204800") when `bySize` is on.
 */
export const profile: { enabled: boolean; bySize: boolean; ms: Map<string, number>; calls: Map<string, number> } = {
  enabled: false,
  bySize: false,
  ms: new Map(),
  calls: new Map(),
};
const plans = new WeakMap<Jaxpr, Plan>();
const fusedPlans = new WeakMap<Jaxpr, Plan>();

/** The step of one equation: its kernel, or a structural primitive's `run` on `buffers`. */
function eqnStep(e: Eqn, kernels: CpuKernels, buffers: Buffers<TypedArray>): PlanStep {
  const run = ruleOf(e.prim).run;
  if (run) {
    return {
      run: (ins) => run(buffers, ins, e.params as never),
      reads: e.inputs,
      writes: e.outs,
      prim: e.prim,
      structural: true,
    };
  }
  const kernel = kernels[e.prim as KernelName] as Kernel<unknown>;
  const inAvals = e.inputs.map((v) => v.aval), outAvals = e.outs.map((v) => v.aval);
  return { run: (ins) => kernel(ins, inAvals, e.params, outAvals), reads: e.inputs, writes: e.outs, prim: e.prim };
}

/**
 * A plan that runs `j`: a fixed list of steps with precomputed frees. With fusion on
 * (`fusion.enabled`, default) runs of elementwise equations run as generated loops.
 */
function compile(j: Jaxpr, kernels: CpuKernels, buffers: Buffers<TypedArray>): Plan {
  const cache = fusion.enabled ? fusedPlans : plans;
  const cached = cache.get(j);
  if (cached) return cached;
  const step = (e: Eqn) => eqnStep(e, kernels, buffers);
  const raw = fusion.enabled ? fusedSteps(j, step) : j.eqns.map(step);
  const lastUse = new Map<Var, number>();
  raw.forEach((s, k) => s.reads.forEach((v) => lastUse.set(v, k)));
  j.outs.forEach((v) => lastUse.set(v, Infinity));
  // A value nobody reads (an unused output of a multi-output kernel) dies right after its step.
  const steps = raw.map((s, k) => ({
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
      if (profile.enabled && !s.structural) {
        const key = profile.bySize ? `${s.prim} ${s.reads.map((v) => env.get(v)!.length)}` : s.prim;
        profile.ms.set(key, (profile.ms.get(key) ?? 0) + performance.now() - t0);
        profile.calls.set(key, (profile.calls.get(key) ?? 0) + 1);
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

/** Every result gets storage of its own (storage is recycled when its array goes). */
export function copyIfAliased(outs: TypedArray[], ins: readonly TypedArray[]): TypedArray[] {
  return outs.map((o, k) =>
    ins.some((i) => i.buffer === o.buffer) || outs.some((p, j) => j < k && p.buffer === o.buffer) ? o.slice() : o
  );
}

/**
 * The cpu buffer model over the kernel table: host typed arrays, garbage collected (holds are
 * no-ops; pinning defers the pool's reuse), rows of a stacked value are views.
 */
export function cpuBuffers(kernels: CpuKernels): Buffers<TypedArray> {
  const buffers: Buffers<TypedArray> = {
    program: (j, ins) => compile(j, kernels, buffers)(ins),
    alloc: (a) => allocPooled(a.dtype, sizeOf(a.shape)),
    row: (x, row, t) => {
      const n = sizeOf(row.shape);
      return x.subarray(t * n, (t + 1) * n) as TypedArray;
    },
    setRow: (dst, src, row, t) => dst.set(src, t * sizeOf(row.shape)),
    retain: () => {},
    release: () => {},
    pin,
    own: copyIfAliased,
  };
  return buffers;
}
