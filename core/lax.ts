/**
 * The `lax` namespace: lower-level operations close to the primitives — convolution with
 * layouts and padding modes, transposed convolution, pooling windows, static and dynamic
 * slicing, and structured control flow (`scan`, `foriLoop`, `cond`).
 * @module
 */
import type { Array } from "./array.ts";
import { fmt, range } from "./shape.ts";
import { bind, bind1, convert, select as selectP } from "./primitives/ops.ts";
import { type ConvParams, convWithSpecs, dilate } from "./primitives/contract.ts";
import { type ArrayLike, asArray, broadcastTo } from "./np/util.ts";
import { concatenate, reshape } from "./np/shape_ops.ts";
import { toArray } from "./backend/backend.ts";
import { traceFlat } from "./transforms/staging.ts";
import { flattenFun } from "./transforms/flatten.ts";
import * as tree from "./tree.ts";

/** Padding: a mode or explicit `[lo, hi]` per spatial axis. */
export type Padding = "SAME" | "VALID" | [number, number][];
/** Layouts as strings, e.g. `["NHWC", "HWIO", "NHWC"]`. */
export type DimensionNumbers = [string, string, string];

/** Options of `convGeneralDilated`. */
export interface ConvOptions {
  /** Window strides per spatial axis (default 1). */
  strides?: number[];
  /** Padding (default "VALID"). */
  padding?: Padding;
  /** Input dilation (transposed-conv style, default 1). */
  lhsDilation?: number[];
  /** Kernel dilation (atrous, default 1). */
  rhsDilation?: number[];
  /** Layouts (default NCHW, OIHW, NCHW like JAX). */
  dimensionNumbers?: DimensionNumbers;
  /** Grouped convolution (default 1). */
  featureGroupCount?: number;
  /** Batch grouping (default 1). */
  batchGroupCount?: number;
}

/** Converts layout strings to JAX-style permutation specs. */
export function convSpecs(dn: DimensionNumbers | undefined, nsp: number): [number[], number[], number[]] {
  const sp = "HWDXYZUV".slice(0, nsp);
  const [l, r, o] = dn ?? [`NC${sp}`, `OI${sp}`, `NC${sp}`];
  const check = (s: string, need: string) => {
    if (s.length !== nsp + 2 || !need.split("").every((c) => s.includes(c))) {
      throw new Error(
        `conv: dimension numbers ${JSON.stringify(dn)} do not describe ${nsp} spatial dims (need ${need} in each)`,
      );
    }
  };
  check(l, "NC");
  check(r, "OI");
  check(o, "NC");
  const rSpatial = [...r].filter((c) => c !== "O" && c !== "I");
  return [
    [l.indexOf("N"), l.indexOf("C"), ...rSpatial.map((c) => l.indexOf(c))],
    [r.indexOf("O"), r.indexOf("I"), ...rSpatial.map((c) => r.indexOf(c))],
    [o.indexOf("N"), o.indexOf("C"), ...rSpatial.map((c) => o.indexOf(c))],
  ];
}

/** Explicit padding for a mode, like JAX's `padtype_to_pads`. */
export function padsFor(padding: Padding, inShape: number[], window: number[], strides: number[]): [number, number][] {
  if (typeof padding !== "string") return padding;
  if (padding === "VALID") return inShape.map(() => [0, 0]);
  if (padding !== "SAME") {
    throw new Error(`conv: padding must be "SAME", "VALID" or [lo, hi] pairs, got ${JSON.stringify(padding)}`);
  }
  return inShape.map((n, i) => {
    const out = Math.ceil(n / strides[i]);
    const total = Math.max((out - 1) * strides[i] + window[i] - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  });
}

/**
 * General N-d convolution (cross-correlation, as in every DL framework).
 *
 * @example A 3×3 box filter
 * ```ts
 * import assert from "node:assert";
 * import { lax, np } from "@wax/wax";
 * const y = lax.convGeneralDilated(np.ones([1, 1, 4, 4]), np.ones([1, 1, 3, 3]), { padding: "SAME" });
 * assert(JSON.stringify(y.shape) === "[1,1,4,4]" && (await y.max().item()) === 9);
 * ```
 */
export function convGeneralDilated(lhs: Array, rhs: Array, opts: ConvOptions = {}): Array {
  const nsp = lhs.ndim - 2;
  if (nsp < 1 || rhs.ndim !== lhs.ndim) {
    throw new Error(`conv: input ${fmt(lhs.aval.shape)} and kernel ${fmt(rhs.aval.shape)} need the same rank ≥ 3`);
  }
  const specs = convSpecs(opts.dimensionNumbers, nsp);
  const ones = range(nsp).map(() => 1);
  const strides = opts.strides ?? ones;
  const lhsDilation = opts.lhsDilation ?? ones;
  const rhsDilation = opts.rhsDilation ?? ones;
  const inSp = specs[0].slice(2).map((d, i) => dilate(lhs.aval.shape[d], lhsDilation[i]));
  const kSp = specs[1].slice(2).map((d, i) => dilate(rhs.aval.shape[d], rhsDilation[i]));
  const p: ConvParams = {
    strides,
    padding: padsFor(opts.padding ?? "VALID", inSp, kSp, strides),
    lhsDilation,
    rhsDilation,
    featureGroupCount: opts.featureGroupCount ?? 1,
    batchGroupCount: opts.batchGroupCount ?? 1,
  };
  return convWithSpecs(lhs, rhs, specs, p);
}

/** Options of `convTranspose`. */
export interface ConvTransposeOptions {
  /** Strides of the forward convolution this transposes (default 1). */
  strides?: number[];
  /** "SAME", "VALID" or explicit pairs (default "VALID"). */
  padding?: Padding;
  /** Kernel dilation (default 1). */
  rhsDilation?: number[];
  /** Layouts (default NCHW, OIHW, NCHW — wax uses one default layout for every conv). */
  dimensionNumbers?: DimensionNumbers;
  /** Flip the kernel spatially and swap its I/O axes (gradient-of-conv semantics; default false). */
  transposeKernel?: boolean;
}

function transposePadding(k: number, s: number, padding: "SAME" | "VALID"): [number, number] {
  let len: number;
  let a: number;
  if (padding === "SAME") {
    len = k + s - 2;
    a = s > k - 1 ? k - 1 : Math.ceil(len / 2);
  } else {
    len = k + s - 2 + Math.max(k - s, 0);
    a = k - 1;
  }
  return [a, len - a];
}

/**
 * Transposed convolution (a.k.a. deconvolution), like `jax.lax.conv_transpose`:
 * upsamples by `strides`. With "SAME" the output is `input × stride`.
 *
 * @example Upsample 2×
 * ```ts
 * import assert from "node:assert";
 * import { lax, np } from "@wax/wax";
 * const y = lax.convTranspose(np.ones([1, 2, 3, 3]), np.ones([4, 2, 5, 5]), { strides: [2, 2], padding: "SAME" });
 * assert(JSON.stringify(y.shape) === "[1,4,6,6]");
 * ```
 */
export function convTranspose(lhs: Array, rhs: Array, opts: ConvTransposeOptions = {}): Array {
  const nsp = lhs.ndim - 2;
  const specs = convSpecs(opts.dimensionNumbers, nsp);
  const ones = range(nsp).map(() => 1);
  const strides = opts.strides ?? ones;
  const rhsDilation = opts.rhsDilation ?? ones;
  const kSp = specs[1].slice(2).map((d, i) => dilate(rhs.aval.shape[d], rhsDilation[i]));
  const padding = opts.padding ?? "VALID";
  const pads = typeof padding === "string"
    ? kSp.map((k, i) => transposePadding(k, strides[i], padding as "SAME" | "VALID"))
    : padding;
  let w = rhs;
  if (opts.transposeKernel) {
    w = bind1("rev", [w], { axes: specs[1].slice(2) });
    const perm = range(w.ndim);
    [perm[specs[1][0]], perm[specs[1][1]]] = [perm[specs[1][1]], perm[specs[1][0]]];
    w = bind1("transpose", [w], { perm });
  }
  return convWithSpecs(lhs, w, specs, {
    strides: ones,
    padding: pads,
    lhsDilation: strides,
    rhsDilation,
    featureGroupCount: 1,
    batchGroupCount: 1,
  });
}

/** Options of `reduceWindow`. */
export interface WindowOptions {
  /** Strides (default: the window, i.e. non-overlapping). */
  strides?: number[];
  /** Padding (default "VALID"). */
  padding?: Padding;
}

/**
 * Pooling: max or sum over sliding windows (one window entry per axis of `x`).
 *
 * @example 2×2 max pooling
 * ```ts
 * import assert from "node:assert";
 * import { lax, np } from "@wax/wax";
 * const y = lax.reduceWindow(np.arange(16, undefined, 1, { dtype: "float32" }).reshape(1, 1, 4, 4), "max", [1, 1, 2, 2]);
 * assert(JSON.stringify(await y.reshape(-1).tolist()) === "[5,7,13,15]");
 * ```
 */
export function reduceWindow(x: Array, op: "max" | "sum", window: number[], opts: WindowOptions = {}): Array {
  perAxis("reduceWindow", x, { window, strides: opts.strides });
  const strides = opts.strides ?? window;
  const padding = padsFor(opts.padding ?? "VALID", [...x.aval.shape], window, strides);
  return bind1("reduceWindow", [x], { op, window, strides, padding });
}

/** Checks that each named list has one entry per axis of `x`. */
function perAxis(op: string, x: Array, lists: Record<string, readonly number[] | undefined>) {
  for (const [name, v] of Object.entries(lists)) {
    if (v !== undefined && v.length !== x.ndim) {
      throw new Error(
        `${op}: ${name} ${JSON.stringify(v)} has ${v.length} entries for an array of rank ${x.ndim} ` +
          `(shape ${fmt(x.aval.shape)}); give one entry per axis`,
      );
    }
  }
}

/**
 * Static slice `x[start:limit:strides]`, one entry per axis in each list.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lax, np } from "@wax/wax";
 * const y = lax.slice(np.arange(12).reshape(3, 4), [1, 0], [3, 4], [1, 2]);
 * assert.deepEqual(await y.tolist(), [[4, 6], [8, 10]]);
 * ```
 */
export function slice(x: Array, start: number[], limit: number[], strides?: number[]): Array {
  perAxis("slice", x, { start, limit, strides });
  return bind1("slice", [x], { start, limit, strides: strides ?? start.map(() => 1) });
}

function startsArray(starts: (number | Array)[]): Array {
  const parts = starts.map((s) => reshape(convert(asArray(s, "int32"), "int32"), [1]));
  return parts.length === 1 ? parts[0] : concatenate(parts, 0);
}
/** Slice of `sizes` at traced start indices (clamped so the slice fits). */
export function dynamicSlice(x: Array, starts: (number | Array)[], sizes: number[]): Array {
  if (starts.length !== x.ndim) throw new Error(`dynamicSlice: ${starts.length} start indices for rank ${x.ndim}`);
  perAxis("dynamicSlice", x, { sizes });
  return bind1("dynamicSlice", [x, startsArray(starts)], { sizes });
}
/** Overwrites a window of `x` with `update` at traced start indices. */
export function dynamicUpdateSlice(x: Array, update: Array, starts: (number | Array)[]): Array {
  if (starts.length !== x.ndim) {
    throw new Error(`dynamicUpdateSlice: ${starts.length} start indices for rank ${x.ndim}`);
  }
  return bind1("dynamicUpdateSlice", [x, convert(update, x.dtype), startsArray(starts)], {});
}
/** `pred ? a : b` with equal shapes (no broadcasting, like `lax.select`). */
export function select(pred: Array, a: Array, b: Array): Array {
  return selectP(pred, a, b);
}

/** Options of `scan`. */
export interface ScanOptions {
  /** Number of steps when `xs` is null. */
  length?: number;
  /** Iterate from the end (default false). */
  reverse?: boolean;
}

/**
 * Loops `f(carry, x) -> [carry, y]` over the leading axis of `xs`, stacking the `y`s.
 * Differentiable in both modes; one traced body, however many steps.
 *
 * @example Cumulative sum by scan
 * ```ts
 * import assert from "node:assert";
 * import { lax, np, type Array } from "@wax/wax";
 * const [total, ys] = lax.scan((c: Array, x: Array) => [c.add(x), c.add(x)], np.array(0), np.array([1, 2, 3]));
 * assert((await total.item()) === 6 && JSON.stringify(await ys.tolist()) === "[1,3,6]");
 * ```
 */
export function scan<C extends tree.PyTree, X extends tree.PyTree, Y extends tree.PyTree>(
  f: (carry: C, x: X) => [C, Y],
  init: C,
  xs: X,
  opts: ScanOptions = {},
): [tree.ArrayLeaves<C>, tree.ArrayLeaves<Y>] {
  const [carry, carryDef] = tree.flatten<Array | number>(init);
  const [xsFlat] = tree.flatten<Array | number>(xs);
  const c = carry.map(toArray);
  const x = xsFlat.map(toArray);
  const lengths = new Set(x.map((a) => a.aval.shape[0]));
  if (opts.length !== undefined) lengths.add(opts.length);
  if (lengths.size !== 1) {
    throw new Error(
      `scan: xs leading axes / length disagree: ${
        [...lengths].join(" vs ")
      }; pass xs with one leading length or set length`,
    );
  }
  const length = [...lengths][0];
  const body = flattenFun(f, tree.flatten([init, xs] as tree.PyTree)[1]);
  const closed = traceFlat(body.fn, [
    ...c.map((a) => a.aval),
    ...x.map((a) => ({ shape: a.aval.shape.slice(1), dtype: a.dtype })),
  ]);
  const outDef = body.outDef();
  if (outDef.kind !== "list" || outDef.children.length !== 2) {
    throw new Error(`scan: the body must return [carry, y], got a value of structure ${tree.defKey(outDef)}`);
  }
  const [cd, yDef] = outDef.children;
  if (tree.defKey(cd) !== tree.defKey(carryDef)) {
    throw new Error(
      `scan: the body returned a carry of structure ${tree.defKey(cd)}, expected ${tree.defKey(carryDef)}`,
    );
  }
  const outs = bind("scan", [...closed.consts, ...c, ...x], {
    jaxpr: closed.jaxpr,
    numConsts: closed.consts.length,
    numCarry: c.length,
    length,
    reverse: !!opts.reverse,
  });
  return [
    tree.unflatten<tree.ArrayLeaves<C>>(carryDef, outs.slice(0, c.length)),
    tree.unflatten<tree.ArrayLeaves<Y>>(yDef, outs.slice(c.length)),
  ];
}

/**
 * `for i in [lower, upper): val = body(i, val)` as a scan (reverse-differentiable).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lax, np, type Array } from "@wax/wax";
 * const v = lax.foriLoop(0, 4, (i: Array, x: Array) => x.add(i.astype("float32")), np.array(0));
 * assert((await v.item()) === 6);
 * ```
 */
export function foriLoop<T extends tree.PyTree>(
  lower: number,
  upper: number,
  body: (i: Array, val: T) => T,
  init: T,
): tree.ArrayLeaves<T> {
  const n = Math.max(0, upper - lower);
  // The carry is `T`'s structure with arrays at the leaves (tracers inside the loop).
  const [[, out]] = scan<[Array, tree.PyTree], null, null>(
    ([i, v]) => [[i.add(1), body(i, v as T)], null],
    [asArray(lower, "int32"), init],
    null,
    { length: n },
  );
  return out as tree.ArrayLeaves<T>;
}

/**
 * `pred ? trueFn(...ops) : falseFn(...ops)` on a scalar predicate. Both branches are traced
 * and evaluated, and the result is selected (so both must be safe to evaluate).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lax, np, type Array } from "@wax/wax";
 * const y = lax.cond(np.array(true), (x: Array) => x.mul(2), (x: Array) => x.neg(), np.array(3));
 * assert((await y.item()) === 6);
 * ```
 */
export function cond<T extends tree.PyTree>(
  pred: ArrayLike,
  trueFn: (...ops: never[]) => T,
  falseFn: (...ops: never[]) => T,
  ...operands: tree.PyTree[]
): T {
  const p = asArray(pred);
  if (p.size !== 1) throw new Error(`cond: the predicate must be a scalar, got shape ${fmt(p.aval.shape)}`);
  const pb = p.dtype === "bool" ? reshape(p, []) : bind1("ne", [reshape(p, []), convert(asArray(0), p.dtype)], {});
  const t = (trueFn as (...o: unknown[]) => T)(...operands);
  const f = (falseFn as (...o: unknown[]) => T)(...operands);
  const [tl, td] = tree.flatten<Array | number>(t);
  const [fl, fd] = tree.flatten<Array | number>(f);
  if (tree.defKey(td) !== tree.defKey(fd)) {
    throw new Error(`cond: branches return different structures: ${tree.defKey(td)} vs ${tree.defKey(fd)}`);
  }
  const out = tl.map((a, i) => {
    const [x, y] = [toArray(a), toArray(fl[i])];
    if (x.dtype !== y.dtype || x.aval.shape.join() !== y.aval.shape.join()) {
      throw new Error(`cond: branch outputs differ: ${x.dtype}${fmt(x.aval.shape)} vs ${y.dtype}${fmt(y.aval.shape)}`);
    }
    return selectP(broadcastTo(pb, [...x.aval.shape]), x, y);
  });
  return tree.unflatten<T>(td, out);
}
