/**
 * Test-only hook of the mutation run (`jvp_mutants.ts`), loaded with `deno test --preload`:
 * when `WAX_MUTATE_JVP` names a primitive, its registry entry is replaced by a copy whose jvp
 * rule scales every float tangent it returns by 1.01 — a derivative rule made 1 % wrong. The
 * first time the mutant changes a tangent it appends the primitive's name to the file
 * `WAX_MUTATE_LOG` (when set), so the run can tell "never exercised" from "survived".
 * Library code is untouched: only this process's rule table is edited.
 * @module
 */
import { rules } from "../../core/rules.ts";
import type { PrimName, Rule, Tangent } from "../../core/primitives/types.ts";
import { Zero } from "../../core/primitives/types.ts";
import type { Array } from "../../core/array.ts";

const prim = Deno.env.get("WAX_MUTATE_JVP") as PrimName | undefined;
const log = Deno.env.get("WAX_MUTATE_LOG");
if (prim) {
  if (!(prim in rules)) throw new Error(`WAX_MUTATE_JVP: no primitive named ${prim}`);
  const table = rules as unknown as Record<string, Rule<unknown>>;
  const rule = table[prim];
  let logged = false;
  table[prim] = {
    ...rule,
    jvp(primals: Array[], tangents: Tangent[], params: unknown): [Array[], Tangent[]] {
      const [outs, touts] = rule.jvp(primals, tangents, params);
      const scaled = touts.map((t) => (t instanceof Zero || t.dtype !== "float32" ? t : t.mul(1.01)));
      if (!logged && log && scaled.some((t, i) => t !== touts[i])) {
        logged = true;
        Deno.writeTextFileSync(log, `${prim}\n`, { append: true });
      }
      return [outs, scaled];
    },
  };
}
