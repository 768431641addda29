/**
 * Transforms trace synchronous functions: an `async` function (or one returning a Promise)
 * would run past the end of its trace. `synchronous` turns that into one clear error and
 * keeps the abandoned Promise from becoming an unhandled rejection.
 * @module
 */

const ASYNC_KINDS = new Set(["[object AsyncFunction]", "[object AsyncGeneratorFunction]"]);

function asyncError(op: string): TypeError {
  return new TypeError(
    `${op} traces synchronous functions; this one is async or returned a Promise. ` +
      `Compute with arrays inside the function and read values (await x.data(), x.item()) outside it`,
  );
}

/**
 * `f`, checked to be a synchronous function: an `async` function is rejected at once, and a
 * call that returns a Promise (or any thenable) throws, with the Promise's eventual rejection
 * silenced (it comes from a trace that has already ended).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { synchronous } from "./sync.ts";
 * assert.throws(() => synchronous("jit", async () => 1), /jit traces synchronous functions/);
 * assert.equal(synchronous("jit", (x: number) => x + 1)(1), 2);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function synchronous<F extends (...args: any[]) => any>(op: string, f: F): F {
  if (typeof f !== "function") {
    throw new TypeError(`${op}: expected a function to transform, got ${f === null ? "null" : typeof f}`);
  }
  if (ASYNC_KINDS.has(Object.prototype.toString.call(f))) throw asyncError(op);
  return function (this: unknown, ...args: Parameters<F>): ReturnType<F> {
    const out = f.apply(this, args);
    if (out !== null && typeof out === "object" && typeof (out as PromiseLike<unknown>).then === "function") {
      (out as PromiseLike<unknown>).then(undefined, () => {});
      throw asyncError(op);
    }
    return out;
  } as F;
}
