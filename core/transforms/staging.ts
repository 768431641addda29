/**
 * The tracing interpreter: records every primitive into a `Jaxpr` (used by jit, makeJaxpr,
 * linearize and the structured primitives).
 * @module
 */
import { type Array, type Aval, Tracer } from "../array.ts";
import { type ClosedJaxpr, type Eqn, Jaxpr, printJaxpr, Var } from "../ir.ts";
import { rules } from "../primitives/index.ts";
import type { Params, PrimName } from "../primitives/types.ts";
import { fullRaise, type MainTrace, Trace, withDynamicMain } from "../trace.ts";
import * as tree from "../tree.ts";
import { toArray } from "../backend/backend.ts";
import { synchronous } from "./sync.ts";

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
    const outAvals = rules[prim].abstractEval(args.map((a) => a.aval), params);
    const outs = outAvals.map((a) => new JaxprTracer(this, a));
    const b = this.builder;
    const outVars = outs.map((t) => {
      const v = new Var(t.aval);
      b.vars.set(t, v);
      return v;
    });
    b.eqns.push({ prim, inputs: args.map((a) => b.varOf(a)), params: params as Params[PrimName], outs: outVars });
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
  let outDef: tree.TreeDef | null = null;
  const closed = traceFlat((...flat) => {
    const args = tree.unflatten<unknown[]>(inDef, flat);
    const [outs, def] = tree.flatten((fn as (...a: unknown[]) => tree.PyTree)(...args));
    outDef = def;
    return outs.map((o) => toArray(o as Array | number));
  }, avals);
  return { closed, outDef: outDef! };
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
    const [flat, def] = tree.flatten(args);
    const arrays = flat.map((x) => toArray(x as Array | number));
    const { closed } = tracePytree(fn, def, arrays.map((a) => a.aval));
    return closed.jaxpr;
  };
}

export { printJaxpr };
