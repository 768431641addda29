/**
 * The complete primitive table: every family's rules in one record whose type demands an
 * entry for each primitive name.
 * @module
 */
import { contractRules } from "./contract.ts";
import { elementwiseRules } from "./elementwise.ts";
import { indexingRules } from "./indexing.ts";
import { movementRules } from "./movement.ts";
import { randomRules } from "./random.ts";
import { reduceRules } from "./reduce.ts";
import { structureRules } from "./structure.ts";
import type { Rules } from "./types.ts";
import { installRules } from "../trace.ts";
import { windowRules } from "./window.ts";

/** Rules of every primitive, keyed by name. */
export const rules: Rules = {
  ...elementwiseRules,
  ...reduceRules,
  ...movementRules,
  ...indexingRules,
  ...contractRules,
  ...windowRules,
  ...randomRules,
  ...structureRules,
};
installRules(rules);
