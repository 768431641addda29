/**
 * Constant folding: equations whose inputs are all constants run at trace time, when their
 * results are small. Structural primitives (those with a `run` hook: nested programs, loops)
 * are never folded.
 * @module
 */
import type { Array } from "../array.ts";
import { type ClosedJaxpr, type Eqn, Jaxpr, type Var } from "../ir.ts";
import { ruleOf } from "../primitives/registry.ts";
import { bind } from "../trace.ts";
import { sizeOf } from "../shape.ts";

/**
 * Evaluates equations whose inputs are all constants at trace time (small results only,
 * so folding never inflates memory). Returns the new program and constants.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { traceFlat } from "../transforms/staging.ts";
 * import { foldConstants } from "./fold.ts";
 * const c = np.array([1, 2]);
 * const closed = traceFlat((x) => [x.add(c.mul(2))], [{ shape: [2], dtype: "float32" }]);
 * assert.equal(foldConstants(closed).jaxpr.eqns.length, 1);
 * ```
 */
export function foldConstants(c: ClosedJaxpr, maxSize = 64): ClosedJaxpr {
  const { jaxpr: j } = c;
  const known = new Map<Var, Array>();
  j.inVars.slice(0, c.consts.length).forEach((v, i) => known.set(v, c.consts[i]));
  const eqns: Eqn[] = [];
  for (const e of j.eqns) {
    const small = e.outs.every((v) => sizeOf(v.aval.shape) <= maxSize);
    const structural = ruleOf(e.prim).run !== undefined;
    if (!structural && small && e.inputs.every((v) => known.has(v)) && e.inputs.length > 0) {
      const outs = bind(e.prim, e.inputs.map((v) => known.get(v)!), e.params as never);
      e.outs.forEach((v, i) => known.set(v, outs[i]));
    } else eqns.push(e);
  }
  // Constants now needed: the original ones plus folded values still referenced.
  const used = new Set<Var>([...eqns.flatMap((e) => e.inputs), ...j.outs]);
  const argVars = j.inVars.slice(c.consts.length);
  const constVars = [...known.keys()].filter((v) => used.has(v) && !argVars.includes(v));
  return {
    jaxpr: new Jaxpr([...constVars, ...argVars], eqns, j.outs),
    consts: constVars.map((v) => known.get(v)!),
  };
}
