/**
 * Every primitive's value against a plain reference (hand-computed values or loops written
 * in tests/_prim_cases.ts), called through the public API or `bind`.
 */
import assert from "node:assert/strict";
import { type Array as Arr, assertAllclose, type Jaxpr, makeJaxpr } from "../mod.ts";
import { rules } from "../core/rules.ts";
import { type Case, cases, notTraced } from "./_prim_cases.ts";

const outsOf = (y: Arr | Arr[]): Arr[] => (globalThis.Array.isArray(y) ? y : [y]);

/** Names of every primitive applied in a program, nested programs included. */
function primsIn(j: Jaxpr, acc = new Set<string>()): Set<string> {
  for (const e of j.eqns) {
    acc.add(e.prim);
    for (const v of Object.values(e.params as Record<string, unknown>)) {
      if (v && typeof v === "object" && "eqns" in v) primsIn(v as Jaxpr, acc);
    }
  }
  return acc;
}

Deno.test("primitives: every primitive in the table has a value case", () => {
  const covered = new Set(cases.map((c) => c.prim));
  const missing = Object.keys(rules).filter((p) => !covered.has(p));
  assert.deepEqual(missing, [], `primitives without a value test: ${missing.join(", ")}`);
  const unknown = [...covered].filter((p) => !(p in rules));
  assert.deepEqual(unknown, [], `cases name primitives that do not exist: ${unknown.join(", ")}`);
});

async function checkCase(c: Case) {
  const outs = outsOf(c.fn(...c.args));
  const wants = globalThis.Array.isArray(c.want) ? c.want : [c.want];
  assert.equal(outs.length, wants.length, "number of outputs");
  for (let i = 0; i < outs.length; i++) {
    assert.deepEqual(outs[i].shape, wants[i].shape, `shape of output ${i}`);
    if (c.dtype) assert.equal(outs[i].dtype, c.dtype, `dtype of output ${i}`);
    await assertAllclose(outs[i], wants[i].data, c.tol ?? {}, `${c.prim} (${c.label}) output ${i}`);
  }
}

for (const c of cases) {
  Deno.test(`primitives: ${c.prim}: ${c.label}`, async () => {
    await checkCase(c);
    if (!notTraced.has(c.prim)) {
      const seen = primsIn(makeJaxpr(c.fn as (...a: never[]) => unknown)(...c.args));
      assert.ok(seen.has(c.prim), `the case does not apply ${c.prim}; it applies ${[...seen].join(", ")}`);
    }
  });
}
