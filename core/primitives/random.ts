/**
 * The PRNG primitive: the threefry2x32 block cipher (20 rounds, as in JAX and Random123),
 * elementwise over uint32 key and counter words.
 * @module
 */
import { fmt, shapeEq } from "../shape.ts";
import { batchElementwise } from "./batching.ts";
import { bind } from "./ops.ts";
import type { RandomParams } from "./params.ts";
import { type FamilyRules, Zero } from "./types.ts";

/** Rules of the random primitives. */
export const randomRules: FamilyRules<RandomParams> = {
  threefry2x32: {
    abstractEval(avals) {
      const [a] = avals;
      if (avals.length !== 4 || avals.some((b) => b.dtype !== "uint32" || !shapeEq(a.shape, b.shape))) {
        throw new TypeError(
          `threefry2x32: needs four uint32 arrays of one shape, got ${
            avals.map((b) => `${b.dtype}${fmt(b.shape)}`).join(", ")
          }`,
        );
      }
      return [a, a];
    },
    jvp(args) {
      const outs = bind("threefry2x32", args, {});
      return [outs, outs.map((o) => new Zero(o.aval))];
    },
    batch: batchElementwise((args) => bind("threefry2x32", args, {})),
  },
};
