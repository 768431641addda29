/**
 * Pytree functions as flat ones (JAX's `flatten_fun`): every transform runs its interpreter on
 * flat lists of arrays, and these helpers do the unflatten–call–flatten steps around it once.
 * @module
 */
import type { Array } from "../array.ts";
import { toArray } from "../backend/backend.ts";
import * as tree from "../tree.ts";

/** A flat view of a pytree function; `outDef()` is the output structure, known once `fn` ran. */
export interface FlatFun {
  /** Takes the argument leaves, calls the function on the rebuilt arguments, returns the output leaves as arrays. */
  fn: (...leaves: Array[]) => Array[];
  /** The structure of the outputs of the last call (an error before the first). */
  outDef: () => tree.TreeDef;
}

/**
 * `f` of pytree arguments of structure `inDef` as a function of their leaves.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, tree } from "@wax/wax";
 * import { flattenFun } from "./flatten.ts";
 * const [leaves, inDef] = tree.flatten([{ a: np.array(1), b: np.array(2) }]);
 * const flat = flattenFun((p: { a: np.Array; b: np.Array }) => [p.a.add(p.b), p.b], inDef);
 * const outs = flat.fn(...(leaves as np.Array[]));
 * assert.equal(await outs[0].item(), 3);
 * assert.equal(tree.unflatten<np.Array[]>(flat.outDef(), outs).length, 2);
 * ```
 */
export function flattenFun(f: (...args: never[]) => unknown, inDef: tree.TreeDef): FlatFun {
  let outDef: tree.TreeDef | null = null;
  return {
    fn: (...leaves) => {
      const args = tree.unflatten<unknown[]>(inDef, leaves);
      const [outs, def] = tree.flatten((f as (...a: unknown[]) => tree.PyTree)(...args));
      outDef = def;
      return outs.map((o) => toArray(o as Array | number));
    },
    outDef: () => {
      if (!outDef) throw new Error("flattenFun: the output structure is known only after a call");
      return outDef;
    },
  };
}

/**
 * The leaves of a pytree as arrays (numbers become weakly typed constants) and its structure.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { flattenArgs } from "./flatten.ts";
 * const [leaves] = flattenArgs([np.ones([2]), { s: 3 }]);
 * assert.deepEqual(leaves.map((l) => l.shape), [[2], []]);
 * ```
 */
export function flattenArgs(args: unknown): [Array[], tree.TreeDef] {
  const [flat, def] = tree.flatten(args as tree.PyTree);
  return [flat.map((x) => toArray(x as Array | number)), def];
}
