// deno-lint-ignore-file no-explicit-any -- the implementations behind the typed overloads take any function
/**
 * Reverse mode, derived: `linearize` = JVP traced into a program + partial evaluation;
 * `vjp` = linearize + transpose; `grad` = vjp with a unit cotangent (jacobians: `jacobian.ts`).
 * @module
 */
import { type Array, freeUnkept } from "../array.ts";
import { isFloat } from "../dtype.ts";
import { evalJaxpr } from "../eval.ts";
import { full, instantiate, zeros } from "../primitives/ops.ts";
import { type Tangent, Zero } from "../primitives/types.ts";
import * as tree from "../tree.ts";
import type { ArrayLeaves } from "../tree.ts";
import { toArray } from "../backend/backend.ts";
import { fmt, shapeEq } from "../shape.ts";
import { jvpFlat } from "./jvp.ts";
import { partialEvalJaxpr } from "./partial_eval.ts";
import { traceFlat } from "./staging.ts";
import { backwardPass } from "./transpose.ts";
import { currentLevel } from "../trace.ts";
import { synchronous } from "./sync.ts";
import { flattenArgs, flattenFun } from "./flatten.ts";

/** Any function (the implementations behind the typed overloads). */
type Fn = (...args: any[]) => any;

/** A linearized flat function: outputs, the linear map and its transpose. */
export interface LinearizedFlat {
  /** Primal outputs. */
  outs: Array[];
  /** The linear map: tangents in, tangents out. */
  lin: (...tangents: Array[]) => Array[];
  /** Its transpose: cotangents of outputs in, cotangents of inputs out (zeros where none flowed). */
  pullback: (...cts: Tangent[]) => Array[];
}

const atTopLevel = () => currentLevel() === 0;
/**
 * Runs the eager part of a transform; outside every trace, the arrays it makes and does not
 * return (`keep`) are dead when it returns and are freed at once, as `jit` frees its own.
 */
function eagerly<T>(fn: () => T, keep: (result: T) => readonly unknown[]): T {
  return atTopLevel() ? freeUnkept(fn, keep, atTopLevel) : fn();
}

/** Linearizes a flat function at `primals`. */
export function linearizeFlat(fn: (...xs: Array[]) => Array[], primals: Array[]): LinearizedFlat {
  const n = primals.length;
  const avals = primals.map((p) => p.aval);
  let numOut = 0;
  const closed = traceFlat((...xs) => {
    const [po, to] = jvpFlat(fn, xs.slice(0, n), xs.slice(n));
    numOut = po.length;
    return [...po, ...to.map(instantiate)];
  }, [...avals, ...avals]);
  const nc = closed.consts.length;
  const unknownIn = closed.jaxpr.inVars.map((_, i) => i >= nc + n);
  const inst = closed.jaxpr.outs.map((_, i) => i >= numOut);
  const pe = partialEvalJaxpr(closed.jaxpr, unknownIn, inst);
  if (pe.outUnknown.slice(0, numOut).some(Boolean)) {
    throw new Error("linearize: a primal output depends on tangents (internal error)");
  }
  const known = eagerly(() => evalJaxpr(pe.known, [...closed.consts, ...primals]), (k) => k);
  const outs = known.slice(0, numOut);
  const residuals = known.slice(numOut);
  const lin = (...tangents: Array[]) => eagerly(() => evalJaxpr(pe.unknown, [...residuals, ...tangents]), (o) => o);
  const linear = pe.unknown.inVars.map((_, i) => i >= pe.numRes);
  const args = [...residuals, ...primals.map(() => null)];
  const pullback = (...cts: Tangent[]) =>
    eagerly(
      () =>
        backwardPass(pe.unknown, linear, args, cts).slice(pe.numRes).map((c, i) =>
          c instanceof Zero || c === null ? zeros(avals[i]) : c
        ),
      (g) => g,
    );
  return { outs, lin, pullback };
}

/**
 * Linearizes `f` at `primals`: returns the outputs and the linear map of tangents (a JVP
 * that reuses the stored residuals).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { linearize, np } from "@wax/wax";
 * const [y, lin] = linearize((x: np.Array) => x.mul(x), np.array(3));
 * assert((await lin(np.array(1)).item()) === 6);
 * ```
 */
export function linearize<A extends unknown[], R>(
  f: (...args: A) => R,
  ...primals: A
): [ArrayLeaves<R>, (...tangents: A) => ArrayLeaves<R>] {
  const [flat, inDef] = flattenArgs(primals);
  const fn = flattenFun(synchronous("linearize", f), inDef);
  const l = linearizeFlat(fn.fn, flat);
  const lin = (...ts: A) => tree.unflatten<ArrayLeaves<R>>(fn.outDef(), l.lin(...flattenArgs(ts)[0]));
  return [tree.unflatten(fn.outDef(), l.outs), lin];
}

/**
 * Reverse-mode: the outputs of `f` at `primals` and a pullback mapping output cotangents to
 * one cotangent per argument.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, vjp } from "@wax/wax";
 * const [y, pullback] = vjp((x: np.Array) => x.mul(x).sum(), np.array([1, 2]));
 * const [g] = pullback(np.array(1));
 * assert(JSON.stringify(await g.tolist()) === "[2,4]");
 * ```
 */
export function vjp<A extends unknown[], R>(
  f: (...args: A) => R,
  ...primals: A
): [ArrayLeaves<R>, (ct: ArrayLeaves<R>) => ArrayLeaves<A>] {
  const [flat, inDef] = flattenArgs(primals);
  const fn = flattenFun(synchronous("vjp", f), inDef);
  const l = linearizeFlat(fn.fn, flat);
  const outDef = fn.outDef();
  const pullback = (ct: ArrayLeaves<R>) => {
    const [cts, cdef] = tree.flatten(ct as tree.PyTree);
    if (tree.defKey(cdef) !== tree.defKey(outDef)) {
      throw new Error(`vjp: cotangent structure ${tree.defKey(cdef)} does not match output ${tree.defKey(outDef)}`);
    }
    const ca = cts.map((c, i) => {
      const a = toArray(c as Array | number);
      if (!shapeEq(a.aval.shape, l.outs[i].aval.shape)) {
        throw new Error(`vjp: cotangent ${fmt(a.aval.shape)} does not match output ${fmt(l.outs[i].aval.shape)}`);
      }
      return a;
    });
    return tree.unflatten<ArrayLeaves<A>>(inDef, l.pullback(...ca));
  };
  return [tree.unflatten(outDef, l.outs), pullback];
}

/** Which arguments `grad` differentiates: one index, or a list of them (the gradient is then a tuple). */
export type Argnums = number | readonly number[];

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions<N extends Argnums = Argnums, Aux extends boolean = boolean> {
  /** Which argument(s) to differentiate (default 0). */
  argnums?: N;
  /** `f` returns `[loss, aux]`; aux is passed through. */
  hasAux?: Aux;
}

/** A scalar loss: a 0-d float array (or a number). */
export type Scalar = Array | number;

/**
 * The gradient type of arguments `A` at `argnums` `N`: one argument's own type (its number
 * leaves as arrays) for an index, a tuple of them for a list.
 */
export type GradsOf<A extends readonly unknown[], N extends Argnums> = N extends number
  ? ArrayLeaves<N extends keyof A ? A[N] : never>
  : { -readonly [K in keyof N]: ArrayLeaves<N[K] extends keyof A ? A[N[K]] : never> };

/** The aux type of a `hasAux` function's result `[loss, aux]`. */
export type AuxOf<R> = R extends readonly [unknown, infer X] ? X : R extends readonly (infer E)[] ? E : never;

/**
 * The value of a scalar function and its gradient with respect to `argnums`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, valueAndGrad } from "@wax/wax";
 * const [v, g] = valueAndGrad((x: np.Array) => x.mul(x).sum())(np.array([3]));
 * assert((await v.item()) === 9 && (await g.item()) === 6);
 * ```
 */
export function valueAndGrad<A extends unknown[]>(f: (...args: A) => Scalar): (...args: A) => [Array, GradsOf<A, 0>];
/** With `hasAux`: `f` returns `[loss, aux]`; the value and gradient come with the aux value. */
export function valueAndGrad<A extends unknown[], R extends readonly [Scalar, unknown], const N extends Argnums = 0>(
  f: (...args: A) => R,
  opts: GradOptions<N, true> & { hasAux: true },
): (...args: A) => [[Array, ArrayLeaves<AuxOf<R>>], GradsOf<A, N>];
/** With `hasAux` and `f` typed as returning a list: the aux type is the list's element type. */
export function valueAndGrad<A extends unknown[], R extends readonly unknown[], const N extends Argnums = 0>(
  f: (...args: A) => R,
  opts: GradOptions<N, true> & { hasAux: true },
): (...args: A) => [[Array, ArrayLeaves<AuxOf<R>>], GradsOf<A, N>];
/** With `argnums`: one gradient per chosen argument (a tuple for a list). */
export function valueAndGrad<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => Scalar,
  opts: GradOptions<N, false>,
): (...args: A) => [Array, GradsOf<A, N>];
export function valueAndGrad(f: Fn, opts: GradOptions = {}): Fn {
  return valueAndGradWith(synchronous("valueAndGrad", f), opts, true);
}

/** `valueAndGrad`; with `keepValue` false (for `grad`) the value is freed unless it is aux. */
function valueAndGradWith(f: Fn, opts: GradOptions, keepValue: boolean): (...args: unknown[]) => [unknown, unknown] {
  const { argnums = 0, hasAux = false } = opts;
  const nums = typeof argnums === "number" ? [argnums] : argnums;
  return (...args) => {
    nums.forEach((i) => {
      if (i < 0 || i >= args.length) {
        throw new RangeError(`grad: argnums ${i} out of range for ${args.length} arguments`);
      }
    });
    const diff = nums.map((i) => args[i]);
    const [flat, inDef] = flattenArgs(diff);
    flat.forEach((x) => {
      if (!isFloat(x.dtype)) {
        throw new TypeError(
          `grad: argument of dtype ${x.dtype} cannot be differentiated; use float32 inputs (astype("float32"))`,
        );
      }
    });
    // Aux leaves are extra (non-differentiated) outputs, so they come back concrete, not as tracers.
    let auxDef: tree.TreeDef | null = null;
    const fn = (...xs: Array[]) => {
      const vals = tree.unflatten<unknown[]>(inDef, xs);
      const full_ = [...args];
      nums.forEach((i, k) => (full_[i] = vals[k]));
      const r = f(...full_);
      const loss = hasAux ? (r as [unknown, unknown])[0] : r;
      let auxLeaves: Array[] = [];
      if (hasAux) {
        const [al, ad] = tree.flatten((r as [unknown, unknown])[1] as tree.PyTree);
        auxDef = ad;
        auxLeaves = al.map((x) => toArray(x as Array | number));
      }
      const l = toArray(loss as Array | number);
      if (l.size !== 1 || l.ndim !== 0) {
        throw new Error(
          `grad: the function must return a scalar, got shape ${fmt(l.aval.shape)}; reduce it (e.g. .sum()) or use vjp`,
        );
      }
      if (!isFloat(l.dtype)) throw new TypeError(`grad: the function returned ${l.dtype}; it must return float32`);
      return [l, ...auxLeaves];
    };
    // Outside every trace the residuals and the backward pass's arrays die here: freed at once.
    const [l, g] = eagerly(() => {
      const l = linearizeFlat(fn, flat);
      const ct = full(l.outs[0].aval, 1);
      return [l, l.pullback(ct, ...l.outs.slice(1).map((o) => new Zero(o.aval)))] as const;
    }, ([l, g]) => [...g, ...(keepValue ? l.outs : l.outs.slice(1))]);
    const aux = hasAux ? tree.unflatten(auxDef!, l.outs.slice(1)) : undefined;
    const grads = tree.unflatten<unknown[]>(inDef, g);
    const gOut = typeof argnums === "number" ? grads[0] : grads;
    const value = hasAux ? [l.outs[0], aux] : l.outs[0];
    return [value, gOut];
  };
}

/**
 * The gradient of a scalar function with respect to `argnums` (same structure as the argument).
 *
 * @example Gradient of a sum of squares
 * ```ts
 * import assert from "node:assert";
 * import { grad, np } from "@wax/wax";
 * const g = grad((x: np.Array) => x.mul(x).sum())(np.array([1, 2, 3]));
 * assert(JSON.stringify(await g.tolist()) === "[2,4,6]");
 * ```
 */
export function grad<A extends unknown[]>(f: (...args: A) => Scalar): (...args: A) => GradsOf<A, 0>;
/** With `hasAux`: `f` returns `[loss, aux]`; the gradient comes with the aux value. */
export function grad<A extends unknown[], R extends readonly [Scalar, unknown], const N extends Argnums = 0>(
  f: (...args: A) => R,
  opts: GradOptions<N, true> & { hasAux: true },
): (...args: A) => [GradsOf<A, N>, ArrayLeaves<AuxOf<R>>];
/** With `hasAux` and `f` typed as returning a list: the aux type is the list's element type. */
export function grad<A extends unknown[], R extends readonly unknown[], const N extends Argnums = 0>(
  f: (...args: A) => R,
  opts: GradOptions<N, true> & { hasAux: true },
): (...args: A) => [GradsOf<A, N>, ArrayLeaves<AuxOf<R>>];
/** With `argnums`: one gradient per chosen argument (a tuple for a list). */
export function grad<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => Scalar,
  opts: GradOptions<N, false>,
): (...args: A) => GradsOf<A, N>;
export function grad(f: Fn, opts: GradOptions = {}): Fn {
  const vg = valueAndGradWith(synchronous("grad", f), opts, false);
  return (...args: unknown[]) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as [unknown, unknown])[1]] : g;
  };
}
