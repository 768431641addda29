// deno-lint-ignore-file no-explicit-any -- gradients of user functions are pytrees of any shape
/**
 * Reverse mode, derived: `linearize` = JVP traced into a program + partial evaluation;
 * `vjp` = linearize + transpose; `grad` = vjp with a unit cotangent. Plus jacobians.
 * @module
 */
import { type Array, freeUnkept } from "../array.ts";
import { isFloat } from "../dtype.ts";
import { evalJaxpr } from "../ir.ts";
import { full, instantiate, moveAxis, reshape } from "../primitives/ops.ts";
import { type Tangent, Zero } from "../primitives/types.ts";
import * as tree from "../tree.ts";
import { fromHost, toArray } from "../backend/backend.ts";
import { fmt, shapeEq, sizeOf } from "../shape.ts";
import { jvp, jvpFlat } from "./jvp.ts";
import { partialEvalJaxpr } from "./partial_eval.ts";
import { traceFlat } from "./staging.ts";
import { backwardPass } from "./transpose.ts";
import { vmap } from "./vmap.ts";
import { currentLevel } from "../trace.ts";
import { synchronous } from "./sync.ts";

/** A linearized flat function: outputs, the linear map and its transpose. */
export interface LinearizedFlat {
  /** Primal outputs. */
  outs: Array[];
  /** The linear map: tangents in, tangents out. */
  lin: (...tangents: Array[]) => Array[];
  /** Its transpose: cotangents of outputs in, cotangents of inputs out. */
  pullback: (...cts: Tangent[]) => Tangent[];
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
    eagerly(() => backwardPass(pe.unknown, linear, args, cts).slice(pe.numRes) as Tangent[], (g) => g);
  return { outs, lin, pullback };
}

function flatArgs(args: unknown[]): [Array[], tree.TreeDef] {
  const [flat, def] = tree.flatten(args as tree.PyTree);
  return [flat.map((x) => toArray(x as Array | number)), def];
}

function flatFn(f: (...a: never[]) => unknown, inDef: tree.TreeDef, outDef: { def: tree.TreeDef | null }) {
  return (...xs: Array[]) => {
    const [o, d] = tree.flatten((f as (...a: unknown[]) => tree.PyTree)(...tree.unflatten<unknown[]>(inDef, xs)));
    outDef.def = d;
    return o.map((x) => toArray(x as Array | number));
  };
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
export function linearize<F extends (...args: any[]) => any>(
  f: F,
  ...primals: Parameters<F>
): [ReturnType<F>, (...tangents: Parameters<F>) => ReturnType<F>] {
  const [flat, inDef] = flatArgs(primals);
  const od = { def: null as tree.TreeDef | null };
  const l = linearizeFlat(flatFn(synchronous("linearize", f), inDef, od), flat);
  const lin = (...ts: Parameters<F>) => tree.unflatten<ReturnType<F>>(od.def!, l.lin(...flatArgs(ts)[0]));
  return [tree.unflatten(od.def!, l.outs), lin];
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
export function vjp<F extends (...args: any[]) => any>(
  f: F,
  ...primals: Parameters<F>
): [ReturnType<F>, (ct: ReturnType<F>) => Parameters<F>] {
  const [flat, inDef] = flatArgs(primals);
  const od = { def: null as tree.TreeDef | null };
  const l = linearizeFlat(flatFn(synchronous("vjp", f), inDef, od), flat);
  const pullback = (ct: ReturnType<F>) => {
    const [cts, cdef] = tree.flatten(ct as tree.PyTree);
    if (tree.defKey(cdef) !== tree.defKey(od.def!)) {
      throw new Error(`vjp: cotangent structure ${tree.defKey(cdef)} does not match output ${tree.defKey(od.def!)}`);
    }
    const ca = cts.map((c, i) => {
      const a = toArray(c as Array | number);
      if (!shapeEq(a.aval.shape, l.outs[i].aval.shape)) {
        throw new Error(`vjp: cotangent ${fmt(a.aval.shape)} does not match output ${fmt(l.outs[i].aval.shape)}`);
      }
      return a;
    });
    const res = l.pullback(...ca).map((c, i) => (c instanceof Zero || c === null ? full(flat[i].aval, 0) : c));
    return tree.unflatten<Parameters<F>>(inDef, res);
  };
  return [tree.unflatten(od.def!, l.outs), pullback];
}

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions {
  /** Which argument(s) to differentiate (default 0). */
  argnums?: number | number[];
  /** `f` returns `[loss, aux]`; aux is passed through. */
  hasAux?: boolean;
}

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
export function valueAndGrad<F extends (...args: any[]) => any>(
  f: F,
  opts: GradOptions = {},
): (...args: Parameters<F>) => [ReturnType<F>, any] {
  return valueAndGradWith(synchronous("valueAndGrad", f), opts, true);
}

/** `valueAndGrad`; with `keepValue` false (for `grad`) the value is freed unless it is aux. */
function valueAndGradWith<F extends (...args: any[]) => any>(
  f: F,
  opts: GradOptions,
  keepValue: boolean,
): (...args: Parameters<F>) => [ReturnType<F>, any] {
  const { argnums = 0, hasAux = false } = opts;
  const nums = typeof argnums === "number" ? [argnums] : argnums;
  return (...args) => {
    nums.forEach((i) => {
      if (i < 0 || i >= args.length) {
        throw new RangeError(`grad: argnums ${i} out of range for ${args.length} arguments`);
      }
    });
    const diff = nums.map((i) => args[i]);
    const [flat, inDef] = flatArgs(diff);
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
      const cts = l.pullback(ct, ...l.outs.slice(1).map((o) => new Zero(o.aval)));
      return [l, cts.map((c, i) => (c instanceof Zero || c === null ? full(flat[i].aval, 0) : c))] as const;
    }, ([l, g]) => [...g, ...(keepValue ? l.outs : l.outs.slice(1))]);
    const aux = hasAux ? tree.unflatten(auxDef!, l.outs.slice(1)) : undefined;
    const grads = tree.unflatten<unknown[]>(inDef, g);
    const gOut = typeof argnums === "number" ? grads[0] : grads;
    const value = hasAux ? [l.outs[0], aux] : l.outs[0];
    return [value as ReturnType<F>, gOut];
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
export function grad<F extends (...args: any[]) => any>(f: F, opts: GradOptions = {}): (...args: Parameters<F>) => any {
  const vg = valueAndGradWith(synchronous("grad", f), opts, false);
  return (...args) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as unknown as [unknown, unknown])[1]] : g;
  };
}

/**
 * Jacobian by forward mode (one JVP per input element, batched with vmap). For `f` of one
 * array: the result has shape `out.shape ++ x.shape`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jacfwd, np } from "@wax/wax";
 * const J = jacfwd((x: np.Array) => x.mul(2))(np.array([1, 2]));
 * assert(JSON.stringify(await J.tolist()) === "[[2,0],[0,2]]");
 * ```
 */
export function jacfwd(f: (x: Array) => Array): (x: Array) => Array {
  return (x) => {
    const n = sizeOf(x.aval.shape);
    const basis = reshape(eye(n), [n, ...x.aval.shape]);
    const cols = vmap((t: Array) => jvp(f, [x], [t])[1])(basis); // [n, ...out]
    const outShape = cols.aval.shape.slice(1);
    return reshape(moveAxis(reshape(cols, [n, sizeOf(outShape)]), 0, 1), [...outShape, ...x.aval.shape]);
  };
}

/**
 * Jacobian by reverse mode (one VJP per output element, batched with vmap).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jacrev, np } from "@wax/wax";
 * const J = jacrev((x: np.Array) => x.mul(x))(np.array([1, 2]));
 * assert(JSON.stringify(await J.tolist()) === "[[2,0],[0,4]]");
 * ```
 */
export function jacrev(f: (x: Array) => Array): (x: Array) => Array {
  return (x) => {
    const [y, pullback] = vjp(f, x);
    const m = sizeOf(y.aval.shape);
    const basis = reshape(eye(m), [m, ...y.aval.shape]);
    const rows = vmap((c: Array) => pullback(c)[0])(basis); // [m, ...x]
    return reshape(rows, [...y.aval.shape, ...x.aval.shape]);
  };
}

/**
 * The Hessian of a scalar function (`jacfwd(jacrev(f))`).
 *
 * @example Hessian of a quadratic form is its symmetric matrix
 * ```ts
 * import assert from "node:assert";
 * import { hessian, np } from "@wax/wax";
 * const H = hessian((x: np.Array) => x.mul(x).sum())(np.array([1, 2]));
 * assert(JSON.stringify(await H.tolist()) === "[[2,0],[0,2]]");
 * ```
 */
export function hessian(f: (x: Array) => Array): (x: Array) => Array {
  return jacfwd(jacrev(f));
}

function eye(n: number): Array {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return fromHost(data, { shape: [n, n], dtype: "float32" });
}
