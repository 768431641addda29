/**
 * `jit`: trace once per input signature, simplify the program, and run it as one
 * `jitCall` primitive (so jit composes with every other transform). Supports static
 * arguments and buffer donation.
 * @module
 */
import type { Array } from "../array.ts";
import { type ClosedJaxpr, simplify } from "../ir.ts";
import { bind } from "../trace.ts";
import * as tree from "../tree.ts";
import { defaultBackend, toArray } from "../backend/backend.ts";
import { avalStr } from "../ir.ts";
import { tracePytree } from "./staging.ts";

/** Options of `jit`. */
export interface JitOptions {
  /** Arguments that are compile-time constants (plain values; a new value retraces). */
  staticArgnums?: number[];
  /** Arguments whose buffers the call may reuse for its outputs; they are unusable afterwards. */
  donateArgnums?: number[];
}

/** A jitted function, with introspection of its compiled programs. */
// deno-lint-ignore no-explicit-any
export type Jitted<F extends (...args: any[]) => any> = ((...args: Parameters<F>) => ReturnType<F>) & {
  /** Number of times the function was traced (one per new input signature). */
  readonly traceCount: number;
};

function staticKey(x: unknown): string {
  if (typeof x === "function") return `fn:${x.name}:${x.toString().length}`;
  return JSON.stringify(x, (_k, v) => (typeof v === "function" ? `fn:${v.name}` : v)) ?? "undefined";
}

/**
 * Compiles `f`: the first call with a new signature (shapes, dtypes, tree structure, static
 * values) traces `f` into a program; later calls run the cached program without calling `f`.
 *
 * @example A jitted update step
 * ```ts
 * import assert from "node:assert";
 * import { jit, np, type Array } from "@wax/wax";
 * const step = jit((w: Array, g: Array) => w.sub(g.mul(0.1)));
 * const w = step(np.ones([3]), np.ones([3]));
 * assert(Math.abs((await w.sum().item()) - 2.7) < 1e-6 && step.traceCount === 1);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jit<F extends (...args: any[]) => any>(f: F, opts: JitOptions = {}): Jitted<F> {
  const statics = new Set(opts.staticArgnums ?? []);
  const donated = new Set(opts.donateArgnums ?? []);
  const cache = new Map<string, { closed: ClosedJaxpr; outDef: tree.TreeDef }>();
  let traceCount = 0;
  const name = f.name || "fn";
  const wrapped = (...args: Parameters<F>): ReturnType<F> => {
    const dynIdx = args.map((_, i) => i).filter((i) => !statics.has(i));
    const dyn = dynIdx.map((i) => args[i]);
    const [flat, inDef] = tree.flatten(dyn as tree.PyTree);
    const leaves = flat.map((x) => toArray(x as Array | number));
    // Plain numbers stay weakly typed inside the trace, as in JAX.
    const avals = leaves.map((l, i) => (typeof flat[i] === "number" ? { ...l.aval, weak: true } : l.aval));
    const donate = dynIdx.flatMap((i) => tree.leaves(args[i] as tree.PyTree).map(() => donated.has(i)));
    const key = [
      defaultBackend().name,
      [...statics].map((i) => staticKey(args[i])).join("|"),
      tree.defKey(inDef),
      avals.map((a) => avalStr(a) + (a.weak ? "~" : "")).join(","),
    ].join(";");
    let entry = cache.get(key);
    if (!entry) {
      traceCount++;
      const fn = (...d: unknown[]) => {
        const full = [...args];
        dynIdx.forEach((i, k) => (full[i] = d[k]));
        return f(...full);
      };
      const traced = tracePytree(fn, inDef, avals);
      entry = { closed: simplify(traced.closed), outDef: traced.outDef };
      cache.set(key, entry);
    }
    const { closed, outDef } = entry;
    const outs = bind("jitCall", [...closed.consts, ...leaves], {
      jaxpr: closed.jaxpr,
      name,
      donate: donated.size ? [...closed.consts.map(() => false), ...donate] : undefined,
    });
    return tree.unflatten(outDef, outs);
  };
  Object.defineProperty(wrapped, "traceCount", { get: () => traceCount });
  return wrapped as Jitted<F>;
}
