/**
 * The rule table's one home, at the bottom of the import graph: `core/rules.ts` fills it with
 * every primitive's rules; the tracer, the transforms, the passes and the executors read it.
 * Nothing here imports a rule or a transform, so rules may use transforms (the structural
 * primitives do) without an import cycle.
 * @module
 */
import type { PrimName } from "./params.ts";
import type { Params, Rule, Rules } from "./types.ts";

/** The rule of every primitive, keyed by name (empty until `core/rules.ts` registers them). */
export const rules: Rules = {} as Rules;

/**
 * Registers the complete rule table (its type demands every primitive) and returns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rules } from "../rules.ts";
 * import { ruleOf } from "./registry.ts";
 * assert.equal(ruleOf("exp"), rules.exp);
 * ```
 */
export function registerRules(all: Rules): Rules {
  return Object.assign(rules, all);
}

/**
 * The rules of `prim`, or an error saying how to register them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import "../rules.ts";
 * import { ruleOf } from "./registry.ts";
 * assert.deepEqual(ruleOf("exp").abstractEval([{ shape: [2], dtype: "float32" }], {}), [
 *   { shape: [2], dtype: "float32" },
 * ]);
 * ```
 */
export function ruleOf<K extends PrimName>(prim: K): Rule<Params[K]> {
  const r = rules[prim] as Rule<Params[K]> | undefined;
  if (!r) {
    throw new Error(
      `${prim}: no rules are registered for this primitive; import mod.ts (or core/rules.ts), which registers them`,
    );
  }
  return r;
}
