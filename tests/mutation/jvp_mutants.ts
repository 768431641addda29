/**
 * Mutation run of the derivative rules: for each primitive in turn, its jvp rule is made 1 %
 * wrong (every tangent it returns scaled by 1.01, through `mutate_preload.ts`) and the gradient
 * tests run; a mutant is killed when a test that passes unmutated fails. Prints a table
 * (primitive → killed by which tests / SURVIVED / not applicable) and exits 1 when a mutant of
 * a differentiable primitive survives or is never exercised. Not a CI test: it runs the
 * gradient test files once per primitive (minutes).
 *
 * Usage (from the repository root):
 *   WAX_BACKEND=cpu npx deno run -A tests/mutation/jvp_mutants.ts [--only erf,exp] [--out table.md] [test files…]
 * @module
 */
import { parseArgs } from "node:util";
import { rules } from "../../core/rules.ts";
import { ZERO_JVP } from "./zero_jvp.ts";

const DEFAULT_FILES = ["tests/primitives_grad_test.ts", "tests/transforms_test.ts", "tests/nn_test.ts"];
const root = new URL("../../", import.meta.url).pathname;
const preload = new URL("./mutate_preload.ts", import.meta.url).pathname;

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { only: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } },
  allowPositionals: true,
});
if (values.help) {
  console.log("jvp_mutants.ts [--only prim,prim] [--out table.md] [test files…]");
  Deno.exit(0);
}
const files = positionals.length ? positionals : DEFAULT_FILES;
const prims = values.only ? values.only.split(",") : Object.keys(rules);
const unknown = prims.filter((p) => !(p in rules));
if (unknown.length) {
  console.error(`jvp_mutants: no primitive named ${unknown.join(", ")}; see core/rules.ts`);
  Deno.exit(2);
}

/** Runs the test files (mutating `prim`'s jvp rule when given); the failed tests and whether the mutant fired. */
async function run(prim: string | null): Promise<{ failed: Set<string>; fired: boolean; passed: number }> {
  const log = await Deno.makeTempFile({ prefix: "wax_mutant_" });
  const env: Record<string, string> = {
    NO_COLOR: "1",
    WAX_MUTATE_LOG: log,
    WAX_BACKEND: Deno.env.get("WAX_BACKEND") ?? "cpu",
  };
  if (prim) env.WAX_MUTATE_JVP = prim;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-prompt", "--no-check", "--v8-flags=--expose-gc", "--preload", preload, ...files],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const failed = new Set<string>();
  for (const line of text.split("\n")) {
    const m = line.match(/^(.*\S) \.\.\. FAILED/);
    if (m) failed.add(m[1].trim());
  }
  const summary = text.match(/(\d+) passed \| (\d+) failed/);
  if (!summary) {
    throw new Error(`jvp_mutants: no test summary for ${prim ?? "the unmutated run"}:\n${text.slice(-3000)}`);
  }
  const fired = (await Deno.readTextFile(log)).includes(`${prim}\n`);
  await Deno.remove(log);
  return { failed, fired, passed: Number(summary[1]) };
}

const base = await run(null);
console.error(
  `unmutated: ${base.passed} passed, ${base.failed.size} failed${
    base.failed.size ? ": " + [...base.failed].join("; ") : ""
  }`,
);
const rows: string[] = ["| primitive | result | killed by |", "|---|---|---|"];
const bad: string[] = [];
for (const prim of prims) {
  const t0 = performance.now();
  const { failed, fired } = await run(prim);
  const kills = [...failed].filter((t) => !base.failed.has(t));
  let result: string;
  if (kills.length) result = "killed";
  else if (!fired && prim in ZERO_JVP) result = `n/a (${ZERO_JVP[prim]})`;
  else if (!fired) result = "NOT EXERCISED";
  else result = "SURVIVED";
  if (result === "SURVIVED" || result === "NOT EXERCISED") bad.push(prim);
  const by = kills.length ? `${kills.length}: ${kills.slice(0, 3).join("; ")}${kills.length > 3 ? "; …" : ""}` : "";
  rows.push(`| ${prim} | ${result} | ${by} |`);
  console.error(`${prim}: ${result} ${by} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
const table = rows.join("\n");
console.log(table);
if (values.out) await Deno.writeTextFile(values.out, table + "\n");
if (bad.length) {
  console.error(
    `jvp_mutants: ${bad.length} mutant(s) not killed: ${bad.join(", ")}; add a gradient test that exercises them`,
  );
  Deno.exit(1);
}
