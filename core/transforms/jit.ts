/**
 * `jit`: trace once per input signature, simplify the program, and run it as one
 * `jitCall` primitive (so jit composes with every other transform). Supports static
 * arguments and buffer donation.
 * @module
 */
import { Array } from "../array.ts";
import type { ClosedJaxpr } from "../ir.ts";
import { simplify } from "../passes/mod.ts";
import { weakDType } from "../dtype.ts";
import { bind } from "../trace.ts";
import * as tree from "../tree.ts";
import type { ArrayLeaves } from "../tree.ts";
import { defaultBackend, toArray } from "../backend/backend.ts";
import { avalStr } from "../ir_print.ts";
import { tracePytree } from "./staging.ts";
import { synchronous } from "./sync.ts";

/** Options of `jit`. */
export interface JitOptions {
  /**
   * Arguments that are compile-time constants; a new value retraces. Numbers, strings,
   * booleans, null, undefined and bigints are keyed by value (`-0` apart from `0`, every NaN
   * alike); functions and class instances by identity (a new closure retraces, as in JAX);
   * plain lists and objects by their contents, recursively. Wax arrays and typed arrays are
   * rejected: pass them as dynamic arguments. Negative indices count from the end.
   */
  staticArgnums?: number[];
  /** Arguments whose buffers the call may reuse for its outputs; they are unusable afterwards. */
  donateArgnums?: number[];
}

/**
 * `T` where every array may also be a plain number (`jit` passes numbers in as weakly typed
 * scalars): what a jitted function accepts for an argument of type `T`.
 */
export type WithNumbers<T> = tree.PyTree extends T ? T
  : T extends Array ? T | number
  // deno-lint-ignore no-explicit-any
  : T extends (...args: any[]) => unknown ? T
  : T extends object ? { [K in keyof T]: WithNumbers<T[K]> }
  : T;

/**
 * A jitted function of arguments `A` returning `R`, with introspection of its compiled
 * programs. It accepts numbers where `f` takes arrays and returns arrays where `f` returned
 * numbers.
 */
export type Jitted<A extends unknown[], R> = {
  /** Calls the compiled function (traces it first for a new input signature). */
  (...args: A): ArrayLeaves<R>;
  /** Calls the compiled function with plain numbers where it takes arrays. */
  (...args: WithNumbers<A>): ArrayLeaves<R>;
  /** Number of times the function was traced (one per new input signature). */
  readonly traceCount: number;
};

/** Identities of the objects, functions and symbols used as static values. */
const ids = new WeakMap<object, number>();
const symbolIds = new Map<symbol, number>();
let nextId = 0;
function idOf(x: object | symbol): number {
  const table = (typeof x === "symbol" ? symbolIds : ids) as Map<object | symbol, number>;
  let id = table.get(x);
  if (id === undefined) table.set(x, id = nextId++);
  return id;
}

/**
 * The cache key of a static argument: by value for primitives, by identity for functions and
 * class instances, by contents for plain lists and objects; arrays are refused.
 */
function staticKey(x: unknown, where: string, seen: unknown[] = []): string {
  switch (typeof x) {
    case "number":
      return Object.is(x, -0) ? "n-0" : `n${x}`;
    case "string":
      return `s${JSON.stringify(x)}`;
    case "boolean":
    case "undefined":
      return String(x);
    case "bigint":
      return `i${x}`;
    case "symbol":
    case "function":
      return `#${idOf(x)}`;
  }
  if (x === null) return "null";
  const obj = x as object;
  if (obj instanceof Array || ArrayBuffer.isView(obj)) {
    const what = obj instanceof Array ? `a wax Array (${avalStr(obj.aval)})` : `a ${obj.constructor.name}`;
    throw new TypeError(
      `jit: static argument ${where} is ${what}; arrays are not hashable static values. ` +
        `Pass it as a dynamic argument (drop its index from staticArgnums), or pass plain numbers/lists`,
    );
  }
  if (seen.includes(obj)) throw new TypeError(`jit: static argument ${where} contains itself; it cannot be keyed`);
  const proto = Object.getPrototypeOf(obj);
  const inner = [...seen, obj];
  if (globalThis.Array.isArray(obj)) return `[${obj.map((v, i) => staticKey(v, `${where}[${i}]`, inner)).join(",")}]`;
  if (proto === Object.prototype || proto === null) {
    const entries = Object.entries(obj).map(([k, v]) => `${JSON.stringify(k)}:${staticKey(v, `${where}.${k}`, inner)}`);
    return `{${entries.join(",")}}`;
  }
  return `#${idOf(obj)}`;
}

function checkArgnums(what: string, nums: readonly number[] | undefined): number[] {
  const list = nums ?? [];
  if (!globalThis.Array.isArray(list) || !list.every((i) => Number.isInteger(i))) {
    throw new TypeError(`jit: ${what} must be a list of integer argument indices, got ${JSON.stringify(nums)}`);
  }
  return list;
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
export function jit<A extends unknown[], R>(f: (...args: A) => R, opts: JitOptions = {}): Jitted<A, R> {
  const staticNums = checkArgnums("staticArgnums", opts.staticArgnums);
  const donateNums = checkArgnums("donateArgnums", opts.donateArgnums);
  const name = f?.name || "fn";
  const g = synchronous("jit", f);
  const cache = new Map<string, { closed: ClosedJaxpr; outDef: tree.TreeDef }>();
  let traceCount = 0;
  const wrapped = (...args: A | WithNumbers<A>): ArrayLeaves<R> => {
    const norm = (i: number) => (i < 0 ? i + args.length : i);
    const statics = new Set(staticNums.map(norm));
    const donated = new Set(donateNums.map(norm));
    for (const i of statics) {
      if (donated.has(i)) throw new Error(`jit: argument ${i} is both static and donated; it can be only one`);
    }
    const dynIdx = args.map((_, i) => i).filter((i) => !statics.has(i));
    for (const i of dynIdx) {
      const t = typeof args[i];
      if (t === "function" || t === "string" || t === "symbol" || t === "bigint") {
        throw new TypeError(
          `jit: argument ${i} is a ${t}, which cannot be traced; mark it static (staticArgnums: [${i}])`,
        );
      }
    }
    const dyn = dynIdx.map((i) => args[i]);
    const [flat, inDef] = tree.flatten(dyn as tree.PyTree);
    const leaves = flat.map((x) => {
      if (typeof x === "number") weakDType(x, null, "jit"); // an integer out of int32 range is an error
      return toArray(x as Array | number);
    });
    // Plain numbers stay weakly typed inside the trace, as in JAX.
    const avals = leaves.map((l, i) => (typeof flat[i] === "number" ? { ...l.aval, weak: true } : l.aval));
    const donate = dynIdx.flatMap((i) => tree.leaves(args[i] as tree.PyTree).map(() => donated.has(i)));
    const key = [
      defaultBackend().name,
      [...statics].sort((a, b) => a - b).map((i) => `${i}=${staticKey(args[i], String(i))}`).join("|"),
      tree.defKey(inDef),
      avals.map((a) => avalStr(a) + (a.weak ? "~" : "")).join(","),
    ].join(";");
    let entry = cache.get(key);
    if (!entry) {
      traceCount++;
      const fn = (...d: unknown[]) => {
        const full = [...args];
        dynIdx.forEach((i, k) => (full[i] = d[k]));
        return g(...full as A);
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
  return wrapped as Jitted<A, R>;
}
