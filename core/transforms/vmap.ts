/**
 * Vectorising map: the batching interpreter carries (value, batch dim) pairs and applies
 * each primitive's batching rule. No fallback loop.
 * @module
 */
import { type Array, type Aval, Tracer } from "../array.ts";
import { ruleOf } from "../primitives/registry.ts";
import { moveBdim } from "../primitives/batching.ts";
import type { Dim, Params, PrimName } from "../primitives/types.ts";
import { bind, fullRaise, type MainTrace, Trace, withMain } from "../trace.ts";
import * as tree from "../tree.ts";
import type { ArrayLeaves } from "../tree.ts";
import { fmt, normAxis } from "../shape.ts";
import { synchronous } from "./sync.ts";
import { flattenArgs, flattenFun } from "./flatten.ts";

class BatchTracer extends Tracer {
  constructor(readonly trace: BatchTrace, readonly val: Array, readonly bdim: Dim) {
    super(
      bdim === null ? val.aval : { shape: val.aval.shape.filter((_, i) => i !== bdim), dtype: val.aval.dtype } as Aval,
    );
  }
  lower(): Array {
    return this.bdim === null ? this.val : this;
  }
}

class BatchTrace extends Trace {
  get size(): number {
    return this.main.global as number;
  }
  pure(x: Array): Array {
    return new BatchTracer(this, x, null);
  }
  lift(x: Array): Array {
    return this.pure(x);
  }
  process<K extends PrimName>(prim: K, args: Array[], params: Params[K]): Array[] {
    const ts = args as BatchTracer[];
    const vals = ts.map((t) => t.val);
    const dims = ts.map((t) => t.bdim);
    if (dims.every((d) => d === null)) return bind(prim, vals, params).map((o) => new BatchTracer(this, o, null));
    const [outs, odims] = ruleOf(prim).batch(vals, dims, params, this.size);
    return outs.map((o, i) => new BatchTracer(this, o, odims[i]));
  }
}

/**
 * Batched evaluation of a flat function: inputs carry batch dims `inDims`; outputs come
 * back with their batch dims (`null` for unbatched unless `force`, which moves them to 0).
 */
export function vmapFlat(
  fn: (...xs: Array[]) => Array[],
  size: number,
  args: Array[],
  inDims: Dim[],
  force = false,
): [Array[], Dim[]] {
  return withMain((m: MainTrace) => new BatchTrace(m), size, (main) => {
    const trace = new BatchTrace(main);
    const ins = args.map((a, i) => (inDims[i] === null ? a : new BatchTracer(trace, a, inDims[i])));
    const outs = fn(...ins).map((o) => fullRaise(trace, o) as BatchTracer);
    if (!force) return [outs.map((o) => o.val), outs.map((o) => o.bdim)];
    return [outs.map((o) => moveBdim(o.val, o.bdim, 0, size)), outs.map(() => 0)];
  });
}

/** Batch axis spec: a number, `null` (unbatched), or a list/object prefix tree of them. */
export type Axes = number | null | readonly Axes[] | { readonly [k: string]: Axes };

/** A short description of a value, for the spec mismatch errors. */
function kindOf(t: unknown): string {
  if (globalThis.Array.isArray(t)) return `a list of ${t.length}`;
  if (t === null || t === undefined) return String(t);
  return typeof t === "object" && Object.getPrototypeOf(t) === Object.prototype ? "an object" : "a leaf";
}

/**
 * Expands an axis spec (a number, null or a prefix tree) over the leaves of `t`. `where`
 * names the position in the spec for errors (`inAxes[1].w`).
 */
function axesFor(spec: Axes, t: unknown, what: string, where = what): (number | null)[] {
  if (spec === null || typeof spec === "number") return tree.leaves(t as tree.PyTree).map(() => spec);
  const top = where === what;
  const fix = !top
    ? `make ${where} match the structure of the value there, or use one number (or null) for all of it`
    : what === "inAxes"
    ? "give inAxes one entry per positional argument (a number, null for unbatched, or a list/object " +
      "matching that argument), or a single number for all"
    : "give outAxes one entry per output (a number, null, or a list/object matching it), or a single number";
  if (globalThis.Array.isArray(spec)) {
    if (!globalThis.Array.isArray(t) || t.length !== spec.length) {
      const got = top && what === "inAxes"
        ? `the function was called with ${(t as unknown[]).length} positional argument(s)`
        : `the value there is ${kindOf(t)}`;
      throw new Error(`vmap: ${where} has ${spec.length} entries but ${got}; ${fix}`);
    }
    return spec.flatMap((s, i) => axesFor(s, t[i], what, `${where}[${i}]`));
  }
  if (typeof spec !== "object") {
    throw new TypeError(`vmap: ${where} is ${JSON.stringify(spec)}; ${fix}`);
  }
  const keys = Object.keys(spec).sort();
  const tkeys = t !== null && typeof t === "object" && !globalThis.Array.isArray(t) ? Object.keys(t).sort() : null;
  if (!tkeys || tkeys.join() !== keys.join()) {
    const got = tkeys ? `an object with keys {${tkeys.join(", ")}}` : kindOf(t);
    throw new Error(`vmap: ${where} is an object with keys {${keys.join(", ")}} but the value there is ${got}; ${fix}`);
  }
  return keys.flatMap((k) =>
    axesFor((spec as Record<string, Axes>)[k], (t as Record<string, unknown>)[k], what, `${where}.${k}`)
  );
}

/** Options of `vmap`. */
export interface VmapOptions {
  /** Batch axis of each argument (a number, `null` for unbatched, or a list/prefix tree per argument). Default 0. */
  inAxes?: Axes;
  /** Where the batch axis goes in each output (default 0). */
  outAxes?: Axes;
}

/**
 * Vectorises `f` over a batch axis of its arguments.
 *
 * @example Batched dot products
 * ```ts
 * import assert from "node:assert";
 * import { np, vmap } from "@wax/wax";
 * const dot = (a: np.Array, b: np.Array) => a.mul(b).sum();
 * const out = vmap(dot, { inAxes: [0, null] })(np.ones([4, 3]), np.ones([3]));
 * assert(JSON.stringify(out.shape) === "[4]");
 * ```
 */
export function vmap<A extends unknown[], R>(
  f: (...args: A) => R,
  opts: VmapOptions = {},
): (...args: A) => ArrayLeaves<R> {
  const { inAxes = 0, outAxes = 0 } = opts;
  f = synchronous("vmap", f);
  return (...args) => {
    const spec = typeof inAxes === "number" || inAxes === null ? args.map(() => inAxes) : inAxes;
    const dims = axesFor(spec, args, "inAxes");
    const [arrays, def] = flattenArgs(args);
    const norm = dims.map((d, i) => (d === null ? null : normAxis("vmap", d, arrays[i].ndim)));
    const sizes = new Set(norm.flatMap((d, i) => (d === null ? [] : [arrays[i].aval.shape[d]])));
    if (sizes.size === 0) throw new Error("vmap: no argument has a batch axis; set inAxes to batch at least one");
    if (sizes.size > 1) {
      throw new Error(
        `vmap: batch axes have different sizes: ${
          norm.map((d, i) => (d === null ? "-" : `${fmt(arrays[i].aval.shape)}@${d}`)).join(", ")
        }`,
      );
    }
    const size = [...sizes][0];
    const flat = flattenFun(f, def);
    const [outs, odims] = vmapFlat(flat.fn, size, arrays, norm);
    const outDef = flat.outDef();
    const result = tree.unflatten<unknown>(outDef, outs);
    const oaxes = axesFor(typeof outAxes === "number" || outAxes === null ? outAxes : outAxes, result, "outAxes");
    const moved = outs.map((o, i) => {
      const to = oaxes[i];
      if (to === null) {
        if (odims[i] !== null) throw new Error("vmap: an output with outAxes null is batched");
        return o;
      }
      return moveBdim(o, odims[i], normAxis("vmap", to, o.ndim + (odims[i] === null ? 1 : 0)), size);
    });
    return tree.unflatten(outDef, moved);
  };
}
