/**
 * Loop budgets. A shader invocation may not loop for long: Mesa's llvmpipe stops every loop of
 * an invocation after 65,535 iterations counted together (nested loops and the loops of the
 * helper functions it calls included), and hardware drivers have watchdogs. So every kernel
 * bounds what one invocation does: a long reduction, scan or contraction is split into
 * chunks of at most {@link MAX_TRIPS} iterations computed by many invocations, and further
 * dispatches combine the chunks' results. (Many short invocations are also what a real GPU
 * needs to be fast.)
 * @module
 */

/** Most loop iterations one invocation runs, all loops together: half of llvmpipe's 65,535 cap. */
export const LOOP_BUDGET = 32768;
/** Most iterations of a kernel's main loop (a chunk of a reduction, scan or contraction). */
export const MAX_TRIPS = 4096;

/**
 * Most iterations of the loops in each `PRELUDE` helper (elementwise.ts) per call: the
 * helper's loop bound (`w_erf` loops 200 times at 0, where its series never converges;
 * `w_pow` squares at most 7 times for integer exponents up to 64).
 */
export const HELPER_TRIPS: Record<string, number> = {
  w_expm1: 12,
  w_log1p: 23,
  w_tanh: 12,
  w_erf: 200,
  w_pow: 7,
  w_fmod: 400,
};

/**
 * Loop iterations the WGSL `code` (a kernel's per-element statements) runs per evaluation
 * through the helpers it calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { helperTrips } from "./loops.ts";
 * assert.equal(helperTrips("let v = w_erf(x) + w_erf(y) * 2.0;"), 400);
 * ```
 */
export function helperTrips(code: string): number {
  let n = 0;
  for (const [name, trips] of Object.entries(HELPER_TRIPS)) {
    n += trips * (code.match(new RegExp(`\\b${name}\\(`, "g"))?.length ?? 0);
  }
  return n;
}

/**
 * Most iterations of a main loop whose body costs `perIter` iterations of helper loops, so the
 * invocation stays within {@link LOOP_BUDGET} (at least 1, at most {@link MAX_TRIPS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MAX_TRIPS, tripsFor } from "./loops.ts";
 * assert.equal(tripsFor(0), MAX_TRIPS);
 * assert.ok(tripsFor(200) * 201 <= 32768);
 * ```
 */
export function tripsFor(perIter = 0): number {
  return Math.max(1, Math.min(MAX_TRIPS, Math.floor(LOOP_BUDGET / (1 + perIter))));
}

/**
 * Splits a loop of `n` iterations into `parts` chunks of `chunk` iterations (the last one
 * shorter), each at most `trips`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { splitLoop } from "./loops.ts";
 * assert.deepEqual(splitLoop(70000, 4096), { parts: 18, chunk: 3889 });
 * assert.deepEqual(splitLoop(100, 4096), { parts: 1, chunk: 100 });
 * ```
 */
export function splitLoop(n: number, trips: number): { parts: number; chunk: number } {
  const parts = Math.max(1, Math.ceil(n / trips));
  return { parts, chunk: Math.ceil(n / parts) };
}
