/**
 * Eager execution, where jit's calls run: a primitive applied to concrete arrays runs on
 * their backend — its kernel, or, for a structural primitive (a jitted call, scan, a custom
 * VJP), its rule's `run` on the backend's buffer model. Donation (`jit`'s `donateArgnums`)
 * happens here, the same for every backend.
 * @module
 */
import type { Array, Aval } from "./array.ts";
import { backendOf } from "./backend/backend.ts";
import type { KernelName, Params, PrimName } from "./primitives/types.ts";
import { ruleOf } from "./primitives/registry.ts";

/**
 * Runs `prim` on concrete `args` whose results have avals `outAvals`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { runEager } from "./eager.ts";
 * const [y] = runEager("neg", [np.array([1, 2])], {}, [{ shape: [2], dtype: "float32" }]);
 * assert.deepEqual(await y.tolist(), [-1, -2]);
 * ```
 */
export function runEager<K extends PrimName>(prim: K, args: Array[], params: Params[K], outAvals: Aval[]): Array[] {
  const backend = backendOf(prim, args);
  const run = ruleOf(prim).run;
  if (!run) return backend.execute(prim as KernelName, args, params as Params[KernelName], outAvals);
  const donate = (params as { donate?: boolean[] }).donate;
  const buffers = backend.buffers;
  return backend.operation(prim, args, outAvals, (ins) => {
    // The inputs stay pinned while the call runs; donated arrays are given up now, so their
    // buffers go back to the pool as soon as the call is done with them.
    const unpin = buffers.pin(ins);
    try {
      donate?.forEach((d, i) => d && args[i].isLive && args[i].donate());
      return buffers.own(run(buffers, ins, params), ins);
    } finally {
      unpin();
    }
  });
}
