/**
 * Forward-mode differentiation: the JVP interpreter carries (primal, tangent) pairs and
 * applies each primitive's jvp rule.
 * @module
 */
import { type Array, Tracer } from "../array.ts";
import { isFloat } from "../dtype.ts";
import { ruleOf } from "../primitives/registry.ts";
import { instantiate } from "../primitives/ops.ts";
import { type Tangent, Zero } from "../primitives/types.ts";
import type { Params, PrimName } from "../primitives/types.ts";
import { bind, fullRaise, type MainTrace, Trace, withMain } from "../trace.ts";
import * as tree from "../tree.ts";
import type { ArrayLeaves } from "../tree.ts";
import { toArray } from "../backend/backend.ts";
import { fmt, shapeEq } from "../shape.ts";
import { synchronous } from "./sync.ts";
import { flattenFun } from "./flatten.ts";

class JVPTracer extends Tracer {
  constructor(readonly trace: JVPTrace, readonly primal: Array, readonly tangent: Tangent) {
    super(primal.aval);
  }
}

class JVPTrace extends Trace {
  pure(x: Array): Array {
    return new JVPTracer(this, x, new Zero(x.aval));
  }
  lift(x: Array): Array {
    return this.pure(x);
  }
  process<K extends PrimName>(prim: K, args: Array[], params: Params[K]): Array[] {
    const ts = args as JVPTracer[];
    const primals = ts.map((t) => t.primal);
    const tangents = ts.map((t) => t.tangent);
    if (tangents.every((t) => t instanceof Zero)) {
      return bind(prim, primals, params).map((o) => new JVPTracer(this, o, new Zero(o.aval)));
    }
    const [outs, touts] = ruleOf(prim).jvp(primals, tangents, params);
    return outs.map((o, i) => new JVPTracer(this, o, isFloat(o.dtype) ? touts[i] : new Zero(o.aval)));
  }
}

/** JVP of a flat function: primal outputs and (possibly symbolic-zero) tangent outputs. */
export function jvpFlat(fn: (...xs: Array[]) => Array[], primals: Array[], tangents: Tangent[]): [Array[], Tangent[]] {
  return withMain((m: MainTrace) => new JVPTrace(m), null, (main) => {
    const trace = new JVPTrace(main);
    const ins = primals.map((p, i) => new JVPTracer(trace, p, tangents[i]));
    const outs = fn(...ins).map((o) => fullRaise(trace, o) as JVPTracer);
    return [outs.map((o) => o.primal), outs.map((o) => o.tangent)];
  });
}

/**
 * Forward-mode derivative: evaluates `f` at `primals` and its directional derivative along
 * `tangents`. Both are lists with one entry (a pytree) per argument of `f`.
 *
 * @example Derivative of sin at 0
 * ```ts
 * import assert from "node:assert";
 * import { jvp, np } from "@wax/wax";
 * const [y, dy] = jvp((x) => np.sin(x), [np.array(0)], [np.array(1)]);
 * assert(Math.abs((await dy.item()) - 1) < 1e-6);
 * ```
 */
export function jvp<A extends unknown[], R>(
  f: (...args: A) => R,
  primals: A,
  tangents: A,
): [ArrayLeaves<R>, ArrayLeaves<R>] {
  f = synchronous("jvp", f);
  const [ps, pdef] = tree.flatten(primals as tree.PyTree);
  const [ts, tdef] = tree.flatten(tangents as tree.PyTree);
  if (tree.defKey(pdef) !== tree.defKey(tdef)) throw new Error("jvp: primals and tangents have different structures");
  const pa = ps.map((x) => toArray(x as Array | number));
  const ta = ts.map((x) => toArray(x as Array | number));
  pa.forEach((p, i) => {
    if (!shapeEq(p.aval.shape, ta[i].aval.shape) || p.dtype !== ta[i].dtype) {
      throw new Error(
        `jvp: tangent ${ta[i].dtype}${fmt(ta[i].aval.shape)} does not match primal ${p.dtype}${fmt(p.aval.shape)}`,
      );
    }
  });
  const flat = flattenFun(f, pdef);
  const [outs, touts] = jvpFlat(flat.fn, pa, ta);
  return [tree.unflatten(flat.outDef(), outs), tree.unflatten(flat.outDef(), touts.map(instantiate))];
}
