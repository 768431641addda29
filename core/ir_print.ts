/**
 * Printing of traced programs: `a:f32[3]` variables, one equation per line, nested programs
 * (the bodies of jitCall, scan…) shown by their arity. Written against the shape of a program
 * only, so the IR can print itself without an import cycle.
 * @module
 */
import type { Aval } from "./array.ts";

/** What the printer reads of a variable. */
interface PrintVar {
  readonly aval: Aval;
}
/** What the printer reads of a program. */
interface PrintProgram {
  readonly inVars: readonly PrintVar[];
  readonly eqns: readonly { prim: string; inputs: readonly PrintVar[]; params: unknown; outs: readonly PrintVar[] }[];
  readonly outs: readonly PrintVar[];
}

const isProgram = (p: unknown): p is PrintProgram =>
  typeof p === "object" && p !== null && "inVars" in p && "eqns" in p && "outs" in p;

const short: Record<string, string> = { float32: "f32", int32: "i32", uint32: "u32", bool: "bool" };
/**
 * Formats an aval as `f32[2,3]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { avalStr } from "./ir_print.ts";
 * assert.equal(avalStr({ shape: [2, 3], dtype: "float32" }), "f32[2,3]");
 * ```
 */
export const avalStr = (a: Aval): string => `${short[a.dtype]}[${a.shape.join(",")}]`;

function paramStr(p: unknown): string {
  if (isProgram(p)) return `{ jaxpr ${p.inVars.length}→${p.outs.length} }`;
  if (typeof p === "function") return p.name || "fn";
  if (p !== null && typeof p === "object" && !globalThis.Array.isArray(p)) {
    return Object.entries(p).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${paramStr(v)}`).join(" ");
  }
  if (globalThis.Array.isArray(p)) return `(${p.map(paramStr).join(",")})`;
  return String(p);
}

/**
 * Pretty-prints a program, nested programs indented.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeJaxpr, np } from "@wax/wax";
 * import { printJaxpr } from "./ir_print.ts";
 * assert(printJaxpr(makeJaxpr((x) => np.exp(x))(np.ones([3]))).includes("= exp a"));
 * ```
 */
export function printJaxpr(j: PrintProgram, indent = ""): string {
  const names = new Map<PrintVar, string>();
  const name = (v: PrintVar) => {
    let n = names.get(v);
    if (!n) {
      let i = names.size;
      n = "";
      do {
        n = String.fromCharCode(97 + (i % 26)) + n;
        i = Math.floor(i / 26) - 1;
      } while (i >= 0);
      names.set(v, n);
    }
    return n;
  };
  const decl = (v: PrintVar) => `${name(v)}:${avalStr(v.aval)}`;
  const lines = [`${indent}{ lambda ${j.inVars.map(decl).join(" ")} .`];
  for (const e of j.eqns) {
    const params = paramStr(e.params);
    lines.push(
      `${indent}  ${e.outs.map(decl).join(" ")} = ${e.prim}${params ? `[${params}]` : ""} ${
        e.inputs.map(name).join(" ")
      }`,
    );
  }
  lines.push(`${indent}  in (${j.outs.map(name).join(" ")}) }`);
  return lines.join("\n");
}
