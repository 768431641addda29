/**
 * Transposition of linear programs (the backward pass of reverse mode): cotangents flow
 * from outputs to the linear inputs through each linear primitive's transpose rule.
 * @module
 */
import { type Array, userOwned } from "../array.ts";
import { bind } from "../trace.ts";
import type { Jaxpr, Var } from "../ir.ts";
import { ruleOf } from "../primitives/registry.ts";
import { add } from "../primitives/ops.ts";
import { LinearIn, type Tangent, Zero } from "../primitives/types.ts";

/**
 * Runs the backward pass of `j`, linear in the inputs flagged in `linear`.
 * `args` gives the values of the non-linear inputs (entries for linear ones are ignored).
 * Returns one cotangent per input (`Zero` where none flowed; `null` for non-linear inputs).
 */
export function backwardPass(
  j: Jaxpr,
  linear: readonly boolean[],
  args: readonly (Array | null)[],
  cts: readonly Tangent[],
): (Tangent | null)[] {
  const isLin = new Set<Var>(j.inVars.filter((_, i) => linear[i]));
  const env = new Map<Var, Array>();
  j.inVars.forEach((v, i) => {
    if (!linear[i]) env.set(v, args[i] as Array);
  });
  // Forward: evaluate the non-linear equations (residual arithmetic), mark linear ones.
  const linEqns = [];
  for (const e of j.eqns) {
    if (e.inputs.some((v) => isLin.has(v))) {
      linEqns.push(e);
      e.outs.forEach((v) => isLin.add(v));
    } else {
      const outs = bind(e.prim, e.inputs.map((v) => env.get(v)!), e.params as never);
      e.outs.forEach((v, i) => env.set(v, outs[i]));
    }
  }
  const ctEnv = new Map<Var, Array>();
  const accum = (v: Var, ct: Tangent | null) => {
    if (!ct || ct instanceof Zero || !isLin.has(v)) return;
    const prev = ctEnv.get(v);
    ctEnv.set(v, prev ? add(prev, ct) : ct);
  };
  j.outs.forEach((v, i) => accum(v, cts[i]));
  for (let k = linEqns.length - 1; k >= 0; k--) {
    const e = linEqns[k];
    const cOut = e.outs.map((v): Tangent => ctEnv.get(v) ?? new Zero(v.aval));
    e.outs.forEach((v) => ctEnv.delete(v));
    if (cOut.every((c) => c instanceof Zero)) continue;
    const rule = ruleOf(e.prim).transpose;
    if (!rule) {
      throw new Error(
        `Reverse mode: primitive ${e.prim} is not linear in its tangent inputs (no transpose rule); this is a bug in a jvp rule or a non-differentiable use`,
      );
    }
    const ins = e.inputs.map((v) => (isLin.has(v) ? new LinearIn(v.aval) : env.get(v)!));
    // A rule that calls back into user code (customVjp's bwd) hands it arrays the user may keep.
    const callsUser = Object.values(e.params as object).some((p) => typeof p === "function");
    const cIn = callsUser
      ? userOwned([...ins, ...cOut], () => rule(cOut, ins, e.params as never))
      : rule(cOut, ins, e.params as never);
    e.inputs.forEach((v, i) => accum(v, cIn[i]));
  }
  return j.inVars.map((v, i) => (linear[i] ? ctEnv.get(v) ?? new Zero(v.aval) : null));
}
