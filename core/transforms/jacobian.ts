/**
 * Jacobians of pytree functions: `jacfwd` (one JVP per input element), `jacrev` (one VJP per
 * output element), both batched with vmap, and `hessian`. Like `grad`, they differentiate the
 * arguments `argnums` names; the result has the output's structure with, at each output leaf,
 * the arguments' structure of blocks of shape `out.shape ++ in.shape` (JAX's layout).
 * @module
 */
import type { Array } from "../array.ts";
import { isFloat } from "../dtype.ts";
import { fromHost } from "../backend/backend.ts";
import { bind1, instantiate, reshape, transpose } from "../primitives/ops.ts";
import { sizeOf } from "../shape.ts";
import * as tree from "../tree.ts";
import type { ArrayLeaves, MapLeaves } from "../tree.ts";
import { type Argnums, type GradsOf, linearizeFlat } from "./ad.ts";
import { flattenArgs, flattenFun } from "./flatten.ts";
import { jvpFlat } from "./jvp.ts";
import { synchronous } from "./sync.ts";
import { vmap } from "./vmap.ts";

/** Options of `jacfwd`, `jacrev` and `hessian`. */
export interface JacobianOptions<N extends Argnums = Argnums> {
  /** Which argument(s) to differentiate (default 0); a list gives a tuple per output leaf. */
  argnums?: N;
}

/**
 * The Jacobian type of a function returning `R` with respect to arguments whose gradient
 * type is `G`: `R`'s structure with a `G` at each leaf.
 */
export type Jacobian<R, G> = MapLeaves<ArrayLeaves<R>, G>;

/** The identity of size `n`, float32. */
function eye(n: number): Array {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return fromHost(data, { shape: [n, n], dtype: "float32" });
}

/** Rows `[from, from + count)` of a 2-D array. */
function rows(a: Array, from: number, count: number): Array {
  return bind1("slice", [a], { start: [from, 0], limit: [from + count, a.aval.shape[1]], strides: [1, 1] });
}

/**
 * The differentiated arguments' leaves and a flat function of them (the other arguments
 * closed over), after checking `argnums` like `grad` does.
 */
function differentiated(op: string, f: (...args: never[]) => unknown, args: unknown[], argnums: Argnums) {
  const nums = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const i of nums) {
    if (!Number.isInteger(i) || i < 0 || i >= args.length) {
      throw new RangeError(`${op}: argnums ${i} out of range for ${args.length} arguments`);
    }
  }
  const [xs, inDef] = flattenArgs(nums.map((i) => args[i]));
  xs.forEach((x) => {
    if (!isFloat(x.dtype)) {
      throw new TypeError(`${op}: argument of dtype ${x.dtype} cannot be differentiated; use float32 inputs`);
    }
  });
  const call = (...diff: unknown[]) => {
    const full = [...args];
    nums.forEach((i, k) => (full[i] = diff[k]));
    return (f as (...a: unknown[]) => unknown)(...full);
  };
  const flat = flattenFun(call, inDef);
  /** The blocks of one output leaf (`[...out, ...in]` each) in the arguments' structure. */
  const assemble = (blocks: Array[]) => {
    const perArg = tree.unflatten<unknown[]>(inDef, blocks);
    return typeof argnums === "number" ? perArg[0] : perArg;
  };
  return { xs, flat, assemble };
}

/** Splits the rows of `stacked` (`[Σ sizes, rest]`) into one block per part. */
function splitRows(stacked: Array, sizes: readonly number[]): Array[] {
  let from = 0;
  return sizes.map((n) => {
    const part = rows(stacked, from, n);
    from += n;
    return part;
  });
}

/**
 * Jacobian by forward mode: one JVP per element of the differentiated arguments, batched with
 * vmap. For `f` of one array returning one array, the result has shape `out.shape ++ x.shape`.
 *
 * @example Pytree in, pytree out
 * ```ts
 * import assert from "node:assert";
 * import { jacfwd, np, type Array } from "@wax/wax";
 * const f = (p: { a: Array; b: Array }) => ({ y: p.a.mul(p.b) });
 * const J = jacfwd(f)({ a: np.array([1, 2]), b: np.array([3, 4]) });
 * assert.deepEqual(await J.y.a.tolist(), [[3, 0], [0, 4]]);
 * assert.deepEqual(await J.y.b.tolist(), [[1, 0], [0, 2]]);
 * ```
 */
export function jacfwd<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => Jacobian<R, GradsOf<A, 0>>;
/** With `argnums`: blocks for the chosen arguments (a tuple of them for a list). */
export function jacfwd<A extends unknown[], R, const N extends Argnums = 0>(
  f: (...args: A) => R,
  opts: JacobianOptions<N>,
): (...args: A) => Jacobian<R, GradsOf<A, N>>;
export function jacfwd(f: (...args: never[]) => unknown, opts: JacobianOptions = {}) {
  const g = synchronous("jacfwd", f);
  return (...args: unknown[]) => {
    const { xs, flat, assemble } = differentiated("jacfwd", g, args, opts.argnums ?? 0);
    const sizes = xs.map((x) => x.size);
    const n = sizes.reduce((a, b) => a + b, 0);
    const basis = splitRows(eye(n), sizes).map((b, i) => reshape(transpose(b, [1, 0]), [n, ...xs[i].aval.shape]));
    const cols = vmap((...ts: Array[]) => jvpFlat(flat.fn, xs, ts)[1].map(instantiate))(...basis); // [n, ...out]
    const perOut = cols.map((c) => {
      const outShape = c.aval.shape.slice(1);
      const blocks = splitRows(reshape(c, [n, sizeOf(outShape)]), sizes).map((b, i) =>
        reshape(transpose(b, [1, 0]), [...outShape, ...xs[i].aval.shape])
      );
      return assemble(blocks);
    });
    return tree.unflatten(flat.outDef(), perOut);
  };
}

/**
 * Jacobian by reverse mode: one VJP per output element, batched with vmap. Same layout as
 * {@link jacfwd}.
 *
 * @example Two arguments
 * ```ts
 * import assert from "node:assert";
 * import { jacrev, np, type Array } from "@wax/wax";
 * const [Ja, Jb] = jacrev((a: Array, b: Array) => a.mul(b), { argnums: [0, 1] })(np.array([1, 2]), np.array([3, 4]));
 * assert.deepEqual(await Ja.tolist(), [[3, 0], [0, 4]]);
 * assert.deepEqual(await Jb.tolist(), [[1, 0], [0, 2]]);
 * ```
 */
export function jacrev<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => Jacobian<R, GradsOf<A, 0>>;
/** With `argnums`: blocks for the chosen arguments (a tuple of them for a list). */
export function jacrev<A extends unknown[], R, const N extends Argnums = 0>(
  f: (...args: A) => R,
  opts: JacobianOptions<N>,
): (...args: A) => Jacobian<R, GradsOf<A, N>>;
export function jacrev(f: (...args: never[]) => unknown, opts: JacobianOptions = {}) {
  const g = synchronous("jacrev", f);
  return (...args: unknown[]) => {
    const { xs, flat, assemble } = differentiated("jacrev", g, args, opts.argnums ?? 0);
    const l = linearizeFlat(flat.fn, xs);
    const outSizes = l.outs.map((o) => o.size);
    const m = outSizes.reduce((a, b) => a + b, 0);
    const basis = splitRows(eye(m), outSizes).map((b, j) =>
      reshape(transpose(b, [1, 0]), [m, ...l.outs[j].aval.shape])
    );
    const cts = vmap((...c: Array[]) => l.pullback(...c))(...basis); // per input leaf: [m, ...x]
    const perOut = l.outs.map((o, j) => {
      const from = outSizes.slice(0, j).reduce((a, b) => a + b, 0);
      const blocks = cts.map((ct, i) => {
        const flatCt = reshape(ct, [m, xs[i].size]);
        return reshape(rows(flatCt, from, outSizes[j]), [...o.aval.shape, ...xs[i].aval.shape]);
      });
      return assemble(blocks);
    });
    return tree.unflatten(flat.outDef(), perOut);
  };
}

/**
 * The Hessian of a scalar function, `jacfwd(jacrev(f))`: with `argnums` a list, a nested
 * tuple of blocks `[[H00, H01], [H10, H11]]`.
 *
 * @example Hessian of a quadratic form is its symmetric matrix
 * ```ts
 * import assert from "node:assert";
 * import { hessian, np } from "@wax/wax";
 * const H = hessian((x: np.Array) => x.mul(x).sum())(np.array([1, 2]));
 * assert(JSON.stringify(await H.tolist()) === "[[2,0],[0,2]]");
 * ```
 */
export function hessian<A extends unknown[]>(
  f: (...args: A) => Array | number,
): (...args: A) => Jacobian<GradsOf<A, 0>, GradsOf<A, 0>>;
/** With `argnums`: blocks for the chosen arguments (nested tuples for a list). */
export function hessian<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => Array | number,
  opts: JacobianOptions<N>,
): (...args: A) => Jacobian<GradsOf<A, N>, GradsOf<A, N>>;
export function hessian(f: (...args: never[]) => unknown, opts: JacobianOptions = {}) {
  return jacfwd(jacrev(f as (...args: unknown[]) => unknown, opts), opts);
}
