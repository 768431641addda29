/**
 * The import graph of `core/` is a DAG (ir/types → primitives → transforms → api): the import
 * and export lines of every `.ts` file are parsed (type-only imports count too) and any cycle
 * fails the test, printed file by file. Also checks the layering rules of DESIGN.md: a
 * primitive's rules never import a transform, and a backend never imports a transform.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const coreDir = new URL("core/", root);

/** Every `.ts` file under `dir`, as paths relative to the repository root. */
function tsFiles(dir: URL, rel: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory) out.push(...tsFiles(new URL(`${e.name}/`, dir), `${rel}${e.name}/`));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(`${rel}${e.name}`);
  }
  return out.sort();
}

/** Joins a relative specifier onto the folder of `from` (both relative to the root). */
function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/** The relative modules a source file imports or re-exports (static lines; `import type` included). */
export function importsOf(src: string): string[] {
  const specs: string[] = [];
  // `import … from "x"`, `export … from "x"` (over several lines) and `import "x"`, at line starts only,
  // so JSDoc examples (` * import …`) and strings do not count.
  const fromRe = /^[ \t]*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm;
  const bareRe = /^[ \t]*import\s*["']([^"']+)["']/gm;
  for (const re of [fromRe, bareRe]) {
    for (const m of src.matchAll(re)) if (m[1].startsWith(".")) specs.push(m[1]);
  }
  return specs;
}

/** The import graph of core/: file → the core files it imports. */
function coreGraph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of tsFiles(coreDir, "core/")) {
    const src = Deno.readTextFileSync(new URL(f, root));
    g.set(f, [...new Set(importsOf(src).map((s) => resolve(f, s)).filter((p) => p.startsWith("core/")))]);
  }
  return g;
}

/** One cycle of `g` as a list of files (first repeated at the end), or null when `g` is a DAG. */
export function findCycle(g: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (v: string): string[] | null => {
    state.set(v, "open");
    path.push(v);
    for (const w of g.get(v) ?? []) {
      if (state.get(w) === "open") return [...path.slice(path.indexOf(w)), w];
      if (!state.has(w)) {
        const c = visit(w);
        if (c) return c;
      }
    }
    path.pop();
    state.set(v, "done");
    return null;
  };
  for (const v of g.keys()) {
    if (!state.has(v)) {
      const c = visit(v);
      if (c) return c;
    }
  }
  return null;
}

Deno.test("imports: the parser reads multi-line, type-only, re-export and bare imports, not comments", () => {
  const src = [
    `import { a,`,
    `  b } from "./x.ts";`,
    `import type { T } from "../y.ts";`,
    `export { c } from "./z.ts";`,
    `export * as n from "./n.ts";`,
    `import "./side.ts";`,
    ` * import { np } from "@wax/wax";`,
    `const s = "import { q } from './no.ts'";`,
  ].join("\n");
  assert.deepEqual(importsOf(src).sort(), ["../y.ts", "./n.ts", "./side.ts", "./x.ts", "./z.ts"]);
});

Deno.test("imports: the cycle finder reports a cycle and passes a DAG", () => {
  const cyc = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(findCycle(cyc), ["a", "b", "c", "a"]);
  assert.equal(findCycle(new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]])), null);
});

Deno.test("imports: core/ has no import cycle (type-only imports included)", () => {
  const g = coreGraph();
  assert.ok(g.size > 50, `expected the core files, found ${g.size}`);
  const cycle = findCycle(g);
  assert.equal(cycle, null, `import cycle in core/:\n  ${cycle?.join("\n  → ")}`);
});

Deno.test("imports: primitives and backends never import a transform", () => {
  const bad: string[] = [];
  for (const [f, deps] of coreGraph()) {
    if (!f.startsWith("core/primitives/") && !f.startsWith("core/backend/")) continue;
    for (const d of deps) if (d.startsWith("core/transforms/")) bad.push(`${f} → ${d}`);
  }
  assert.deepEqual(bad, [], `layering: rules and backends must read the registry, not transforms:\n${bad.join("\n")}`);
});

Deno.test("imports: backends hold kernels and a buffer model only (no structural primitive, no donation)", () => {
  const bad: string[] = [];
  for (const f of tsFiles(new URL("backend/", coreDir), "core/backend/")) {
    const src = Deno.readTextFileSync(new URL(f, root)).split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l));
    src.forEach((line, i) => {
      if (/"(jitCall|customVjpCall|customLin|scan)"|\.donate\(|donate\?/.test(line)) {
        bad.push(`${f}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(
    bad,
    [],
    `structural primitives and donation belong to jit (core/eager.ts, rules' run):\n${bad.join("\n")}`,
  );
});
