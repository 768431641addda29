/**
 * The tracing interpreter: records every primitive into a `Jaxpr` (used by jit, makeJaxpr,
 * linearize and the structured primitives).
 * @module
 */
import { Array, type Aval, Tracer } from "../array.ts";
import { checkDType } from "../dtype.ts";
import { type ClosedJaxpr, type Eqn, Jaxpr, Var } from "../ir.ts";
import { printJaxpr } from "../ir_print.ts";
import { ruleOf } from "../primitives/registry.ts";
import type { Params, PrimName } from "../primitives/types.ts";
import { fullRaise, type MainTrace, Trace, withDynamicMain } from "../trace.ts";
import * as tree from "../tree.ts";
import { toArray } from "../backend/backend.ts";
import { synchronous } from "./sync.ts";
import { flattenArgs, flattenFun } from "./flatten.ts";

/** A value being recorded: stands for one program variable. */
class JaxprTracer extends Tracer {
  constructor(readonly trace: JaxprTrace, aval: Aval) {
    super(aval);
  }
}

class Builder {
  readonly vars = new Map<Tracer, Var>();
  readonly consts = new Map<Array, JaxprTracer>();
  readonly constVars: Var[] = [];
  readonly constVals: Array[] = [];
  readonly eqns: Eqn[] = [];
  varOf(t: Array): Var {
    const v = this.vars.get(t as Tracer);
    if (!v) {
      throw new Error("staging: a value from another trace reached the program; return it instead of closing over it");
    }
    return v;
  }
}

class JaxprTrace extends Trace {
  get builder(): Builder {
    return this.main.global as Builder;
  }
  newArg(aval: Aval): JaxprTracer {
    const t = new JaxprTracer(this, aval);
    this.builder.vars.set(t, new Var(aval));
    return t;
  }
  pure(x: Array): Array {
    const b = this.builder;
    let t = b.consts.get(x);
    if (!t) {
      t = new JaxprTracer(this, x.aval);
      const v = new Var(x.aval);
      b.vars.set(t, v);
      b.consts.set(x, t);
      b.constVars.push(v);
      b.constVals.push(x);
    }
    return t;
  }
  lift(x: Array): Array {
    return this.pure(x);
  }
  process<K extends PrimName>(prim: K, args: Array[], params: Params[K]): Array[] {
    const outAvals = ruleOf(prim).abstractEval(args.map((a) => a.aval), params);
    const outs = outAvals.map((a) => new JaxprTracer(this, a));
    const b = this.builder;
    const outVars = outs.map((t) => {
      const v = new Var(t.aval);
      b.vars.set(t, v);
      return v;
    });
    b.eqns.push({ prim, inputs: args.map((a) => b.varOf(a)), params: params as object, outs: outVars });
    return outs;
  }
}

/**
 * Traces `fn` on abstract inputs into a closed program (constants become leading inputs).
 * `fn` takes and returns flat lists of arrays.
 */
export function traceFlat(fn: (...args: Array[]) => Array[], avals: readonly Aval[]): ClosedJaxpr {
  return withDynamicMain((m: MainTrace) => new JaxprTrace(m), new Builder(), (main) => {
    const trace = new JaxprTrace(main);
    const b = trace.builder;
    const args = avals.map((a) => trace.newArg(a));
    const outs = fn(...args).map((o) => fullRaise(trace, o));
    const jaxpr = new Jaxpr([...b.constVars, ...args.map((a) => b.varOf(a))], b.eqns, outs.map((o) => b.varOf(o)));
    return { jaxpr, consts: b.constVals };
  });
}

/** A traced pytree function: the program plus how to rebuild outputs. */
export interface Traced {
  /** The program. */
  closed: ClosedJaxpr;
  /** Structure of the outputs. */
  outDef: tree.TreeDef;
}

/** Traces a pytree function on avals given as a flat list plus the input structure. */
export function tracePytree(fn: (...args: never[]) => unknown, inDef: tree.TreeDef, avals: readonly Aval[]): Traced {
  const flat = flattenFun(fn, inDef);
  const closed = traceFlat(flat.fn, avals);
  return { closed, outDef: flat.outDef() };
}

/**
 * The traced program of `fn` at these example arguments, for reading and debugging.
 *
 * @example Print a program
 * ```ts
 * import assert from "node:assert";
 * import { makeJaxpr, np } from "@wax/wax";
 * const j = makeJaxpr((x) => np.exp(x).mul(2))(np.ones([3]));
 * assert(j.toString().includes("exp"));
 * ```
 */
export function makeJaxpr(fn: (...args: never[]) => unknown): (...args: tree.PyTree[]) => Jaxpr {
  fn = synchronous("makeJaxpr", fn);
  return (...args) => {
    const [arrays, def] = flattenArgs(args);
    const { closed } = tracePytree(fn, def, arrays.map((a) => a.aval));
    return closed.jaxpr;
  };
}

/** A pytree with an aval (`{ shape, dtype }`) at each leaf of `T`. */
export type ShapeTree<T> = T extends Array | number | boolean ? Aval
  : T extends null | undefined ? T
  : { [K in keyof T]: ShapeTree<T[K]> };

const WaxArray = Array;
/** A `{ shape, dtype }` object (JAX's ShapeDtypeStruct) where an argument leaf may be. */
const isSpec = (x: unknown): x is Aval =>
  x !== null && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype &&
  globalThis.Array.isArray((x as Aval).shape) && typeof (x as Aval).dtype === "string";

/** Replaces `{ shape, dtype }` specs by shape-only arrays (they own no buffer), so they flatten as leaves. */
function specsToLeaves(t: unknown): unknown {
  if (isSpec(t)) return new WaxArray({ shape: [...t.shape], dtype: checkDType(t.dtype, "evalShape") }, null);
  if (globalThis.Array.isArray(t)) return t.map(specsToLeaves);
  if (t !== null && typeof t === "object" && Object.getPrototypeOf(t) === Object.prototype) {
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, specsToLeaves(v)]));
  }
  return t;
}

/**
 * The shapes and dtypes of `fn`'s results for arguments of given shapes and dtypes, found by
 * tracing: nothing is computed and no buffer is made (JAX's `jax.eval_shape`). Argument
 * leaves are arrays, numbers or `{ shape, dtype }` specs; the result has `fn`'s output
 * structure with a `{ shape, dtype }` at each leaf.
 *
 * @param fn A function of pytrees of arrays.
 * @param args Its arguments, or specs of them.
 * @returns The avals of its results, in its output structure.
 *
 * @example The output shape of a layer
 * ```ts
 * import assert from "node:assert";
 * import { evalShape, np } from "@wax/wax";
 * const out = evalShape((x: np.Array, w: np.Array) => np.matmul(x, w), { shape: [8, 784], dtype: "float32" }, np.ones([784, 10]));
 * assert.deepEqual(out, { shape: [8, 10], dtype: "float32" });
 * ```
 */
// deno-lint-ignore no-explicit-any
export function evalShape<F extends (...args: any[]) => any>(fn: F, ...args: unknown[]): ShapeTree<ReturnType<F>> {
  const f = synchronous("evalShape", fn);
  const [flat, def] = tree.flatten(specsToLeaves(args) as tree.PyTree);
  const avals = flat.map((x): Aval =>
    typeof x === "number" || typeof x === "boolean" ? { ...toArray(x).aval, weak: true } : (x as Array).aval
  );
  const { closed, outDef } = tracePytree(f, def, avals);
  const outs = closed.jaxpr.outAvals.map((a): Aval => ({ shape: [...a.shape], dtype: a.dtype }));
  return tree.unflatten(outDef, outs);
}

export { printJaxpr };
