/**
 * Pytrees: nested plain objects, JS arrays and `null` with arrays (or numbers) at the leaves.
 * Every transform accepts and returns pytrees.
 * @module
 */
import { Array as WaxArray } from "./array.ts";

/** A leaf (an array, a number or a boolean) or a nested object/list of them; `null` is empty. */
export type PyTree = WaxArray | number | boolean | null | undefined | readonly PyTree[] | {
  readonly [k: string]: PyTree;
};

/** The shape of a pytree without its leaves, enough to rebuild it. */
export type TreeDef =
  | { kind: "leaf" }
  | { kind: "none"; value: null | undefined }
  | { kind: "list"; children: TreeDef[] }
  | { kind: "dict"; keys: string[]; children: TreeDef[] };

const isNode = (x: unknown): boolean =>
  globalThis.Array.isArray(x) || (x !== null && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype);

/**
 * Splits a pytree into its leaves (depth first, object keys sorted) and its structure.
 *
 * @example Flatten and rebuild
 * ```ts
 * import assert from "node:assert";
 * import { tree } from "@wax/wax";
 * const [leaves, def] = tree.flatten({ b: [1, 2], a: 3 });
 * assert(JSON.stringify(leaves) === "[3,1,2]");
 * assert(JSON.stringify(tree.unflatten(def, leaves)) === '{"a":3,"b":[1,2]}');
 * ```
 */
export function flatten<T = unknown>(t: PyTree): [T[], TreeDef] {
  const leaves: T[] = [];
  const go = (x: unknown): TreeDef => {
    if (x === null || x === undefined) return { kind: "none", value: x };
    if (globalThis.Array.isArray(x)) return { kind: "list", children: x.map(go) };
    if (isNode(x)) {
      const keys = Object.keys(x as object).sort();
      return { kind: "dict", keys, children: keys.map((k) => go((x as Record<string, unknown>)[k])) };
    }
    if (x instanceof WaxArray || typeof x === "number" || typeof x === "boolean") {
      leaves.push(x as T);
      return { kind: "leaf" };
    }
    throw new TypeError(
      `tree: unsupported pytree node of type ${
        typeof x === "object" ? (x as object).constructor?.name : typeof x
      }; use plain objects, lists, arrays or numbers`,
    );
  };
  const def = go(t);
  return [leaves, def];
}

/** Rebuilds a pytree of structure `def` from `leaves`. */
export function unflatten<T = PyTree>(def: TreeDef, leaves: readonly unknown[]): T {
  let i = 0;
  const go = (d: TreeDef): unknown => {
    switch (d.kind) {
      case "leaf":
        if (i >= leaves.length) throw new Error(`tree.unflatten: too few leaves (${leaves.length})`);
        return leaves[i++];
      case "none":
        return d.value;
      case "list":
        return d.children.map(go);
      case "dict":
        return Object.fromEntries(d.keys.map((k, j) => [k, go(d.children[j])]));
    }
  };
  const out = go(def);
  if (i !== leaves.length) throw new Error(`tree.unflatten: ${leaves.length} leaves for a structure of ${i}`);
  return out as T;
}

/** The leaves of a pytree. */
export function leaves<T = unknown>(t: PyTree): T[] {
  return flatten<T>(t)[0];
}

/** The structure of a pytree. */
export function structure(t: PyTree): TreeDef {
  return flatten(t)[1];
}

/** A string key for a structure (equal structures give equal keys). */
export function defKey(def: TreeDef): string {
  switch (def.kind) {
    case "leaf":
      return "*";
    case "none":
      return def.value === null ? "N" : "U";
    case "list":
      return `[${def.children.map(defKey).join(",")}]`;
    case "dict":
      return `{${def.keys.map((k, i) => `${JSON.stringify(k)}:${defKey(def.children[i])}`).join(",")}}`;
  }
}

/** Number of leaves a structure holds. */
export function numLeaves(def: TreeDef): number {
  switch (def.kind) {
    case "leaf":
      return 1;
    case "none":
      return 0;
    default:
      return def.children.reduce((n, c) => n + numLeaves(c), 0);
  }
}

/** A pytree whose leaves are all arrays: the type of gradients, optimizer updates and transform outputs. */
export type ArrayTree = WaxArray | null | undefined | readonly ArrayTree[] | { readonly [k: string]: ArrayTree };

/**
 * The leaf types of a pytree type: `Leaf<{ w: Array; n: number }>` is `Array | number`. The
 * leaves of a tree typed only as `PyTree` are not known: `any`, so a callback may say what it expects.
 *
 * @example
 * ```ts
 * import type { Array, tree } from "@wax/wax";
 * const leaf: tree.Leaf<{ w: Array; steps: [number] }> = 3;
 * ```
 */
// deno-lint-ignore no-explicit-any
export type Leaf<T> = PyTree extends T ? any
  : T extends WaxArray | number | boolean ? T
  : T extends null | undefined ? never
  : T extends readonly (infer E)[] ? Leaf<E>
  : T extends object ? { [K in keyof T]-?: Leaf<T[K]> }[keyof T]
  : never;

/** The leaf types of each tree of a list of pytrees (the extra arguments of {@link map}'s `fn`). */
export type Leaves<R extends readonly unknown[]> = { [K in keyof R]: Leaf<R[K]> };

/**
 * `T` with every leaf replaced by a `U`: the result type of {@link map}.
 *
 * @example
 * ```ts
 * import type { Array, tree } from "@wax/wax";
 * const shapes: tree.MapLeaves<{ w: Array; b: [Array] }, number[]> = { w: [2, 3], b: [[3]] };
 * ```
 */
export type MapLeaves<T, U> = PyTree extends T ? (U extends PyTree ? PyTree : unknown)
  : T extends WaxArray | number | boolean ? U
  : T extends null | undefined ? T
  : { -readonly [K in keyof T]: MapLeaves<T[K], U> };

/**
 * `T` with its number and boolean leaves made arrays: the type of what a transform returns
 * for a value of type `T` (a plain number that comes out of `jit`, `vmap` or `grad` is an
 * array). A tree of arrays, generic ones included, is its own `ArrayLeaves`.
 *
 * @example
 * ```ts
 * import { type Array, jit, np, type tree } from "@wax/wax";
 * const f = jit((x: Array) => ({ y: x.mul(2), n: 1 }));
 * const out: tree.ArrayLeaves<{ y: Array; n: number }> = f(np.ones([2]));
 * const n: Array = out.n;
 * ```
 */
export type ArrayLeaves<T> = { v: T } extends { v: infer U extends ArrayTree } ? U
  : PyTree extends T ? T
  : T extends number | boolean ? WaxArray
  : T extends WaxArray | null | undefined ? T
  : { -readonly [K in keyof T]: ArrayLeaves<T[K]> };

/**
 * Applies `fn` to every leaf of `t` and the matching leaves of `rest` (which share its
 * structure); the result has `t`'s structure with `fn`'s results at the leaves. Over trees of
 * arrays with an array-valued `fn` the result has `t`'s own type.
 *
 * @example Scale every parameter
 * ```ts
 * import assert from "node:assert";
 * import { np, tree } from "@wax/wax";
 * const p = { w: np.ones([2]), b: np.zeros([2]) };
 * const q = tree.map((x) => x.mul(2), p);
 * assert(JSON.stringify(await q.w.tolist()) === "[2,2]");
 * const shapes = tree.map((x, y) => x.shape.concat(y.shape), p, q);
 * assert(JSON.stringify(shapes.b) === "[2,2]");
 * ```
 */
/**
 * Applies `fn` to every leaf of `t` and the matching leaves of `rest`; over trees of arrays
 * with an array-valued `fn` the result has `t`'s own type.
 */
export function map<T extends ArrayTree>(
  fn: (x: WaxArray, ...rest: WaxArray[]) => WaxArray,
  t: T,
  ...rest: ArrayTree[]
): T;
/** Over any pytrees: `t`'s structure with `fn`'s results at the leaves. */
export function map<T extends PyTree, R extends PyTree[], U>(
  fn: (x: Leaf<T>, ...rest: Leaves<R>) => U,
  t: T,
  ...rest: R
): MapLeaves<T, U>;
// deno-lint-ignore no-explicit-any -- the overloads above type `fn`
export function map(fn: (...xs: any[]) => unknown, t: PyTree, ...rest: PyTree[]): unknown {
  const [ls, def] = flatten(t);
  const others = rest.map((r) => {
    const [rl, rd] = flatten(r);
    if (defKey(rd) !== defKey(def)) throw new Error(`tree.map: structures differ: ${defKey(def)} vs ${defKey(rd)}`);
    return rl;
  });
  return unflatten(def, ls.map((x, i) => fn(x, ...others.map((o) => o[i]))));
}
