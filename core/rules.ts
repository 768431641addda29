/**
 * Every primitive's rules in one table whose type demands an entry for each primitive
 * name, registered into the registry (primitives/registry.ts) that the tracer, transforms
 * and executors read. The families of primitives/ hold the kernel primitives' rules; the
 * structural primitives' rules transform programs, so they sit with the transforms.
 * Importing this module (mod.ts does) makes every primitive usable.
 * @module
 */
import { contractRules } from "./primitives/contract.ts";
import { elementwiseRules } from "./primitives/elementwise.ts";
import { indexingRules } from "./primitives/indexing.ts";
import { movementRules } from "./primitives/movement.ts";
import { randomRules } from "./primitives/random.ts";
import { reduceRules } from "./primitives/reduce.ts";
import { registerRules } from "./primitives/registry.ts";
import type { Rules } from "./primitives/types.ts";
import { windowRules } from "./primitives/window.ts";
import { structureRules } from "./transforms/structure.ts";

/**
 * Rules of every primitive, keyed by name (the registry's table).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rules } from "./rules.ts";
 * assert.equal(typeof rules.scan.run, "function");
 * assert.equal(rules.exp.run, undefined);
 * ```
 */
export const rules: Rules = registerRules({
  ...elementwiseRules,
  ...reduceRules,
  ...movementRules,
  ...indexingRules,
  ...contractRules,
  ...windowRules,
  ...randomRules,
  ...structureRules,
});
