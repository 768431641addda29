/**
 * The traced program (Jaxpr-like): typed variables and equations, printing, evaluation,
 * and the simplifications jit applies (dead-code elimination, common subexpressions,
 * constant folding).
 * @module
 */
import type { Array, Aval } from "./array.ts";
import type { Params, PrimName } from "./primitives/types.ts";
import { bind } from "./trace.ts";
import { sizeOf } from "./shape.ts";

let nextId = 0;
/** A typed variable of a traced program. */
export class Var {
  /** Unique id (for printing and keys). */
  readonly id: number = nextId++;
  constructor(readonly aval: Aval) {}
}

/** One primitive application: `outs = prim[params](inputs)`. */
export interface Eqn {
  /** The primitive. */
  prim: PrimName;
  /** Its operands. */
  inputs: Var[];
  /** Its parameters. */
  params: Params[PrimName];
  /** Its results. */
  outs: Var[];
}

/** A traced program: inputs, equations in order, outputs. Constants are leading inputs. */
export class Jaxpr {
  /** A program from its input variables, equations and output variables. */
  constructor(
    /** @ignore Input variables (constants first). */
    readonly inVars: Var[],
    /** @ignore Equations in order. */
    readonly eqns: Eqn[],
    /** @ignore Output variables. */
    readonly outs: Var[],
  ) {}
  /** Readable listing, e.g. `{ lambda a:f32[3]. let b:f32[3] = exp a in (b) }`. */
  toString(): string {
    return printJaxpr(this);
  }
  /** Output avals. */
  get outAvals(): Aval[] {
    return this.outs.map((v) => v.aval);
  }
  /** Input avals. */
  get inAvals(): Aval[] {
    return this.inVars.map((v) => v.aval);
  }
}

/** A program with the values of its leading constant inputs. */
export interface ClosedJaxpr {
  /** The program (first `consts.length` inputs are constants). */
  jaxpr: Jaxpr;
  /** Values of the constant inputs. */
  consts: Array[];
}

const short: Record<string, string> = { float32: "f32", int32: "i32", uint32: "u32", bool: "bool" };
/** Formats an aval as `f32[2,3]`. */
export const avalStr = (a: Aval): string => `${short[a.dtype]}[${a.shape.join(",")}]`;

function paramStr(p: unknown): string {
  if (p instanceof Jaxpr) return `{ jaxpr ${p.inVars.length}→${p.outs.length} }`;
  if (typeof p === "function") return p.name || "fn";
  if (p !== null && typeof p === "object" && !globalThis.Array.isArray(p)) {
    return Object.entries(p).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${paramStr(v)}`).join(" ");
  }
  if (globalThis.Array.isArray(p)) return `(${p.map(paramStr).join(",")})`;
  return String(p);
}

/** Pretty-prints a program, nested programs indented. */
export function printJaxpr(j: Jaxpr, indent = ""): string {
  const names = new Map<Var, string>();
  const name = (v: Var) => {
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
  const decl = (v: Var) => `${name(v)}:${avalStr(v.aval)}`;
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

/** Evaluates a program by binding each equation (so it runs under whatever transforms are active). */
export function evalJaxpr(j: Jaxpr, args: readonly Array[]): Array[] {
  if (args.length !== j.inVars.length) {
    throw new Error(`evalJaxpr: ${args.length} arguments for ${j.inVars.length} inputs`);
  }
  const env = new Map<Var, Array>();
  j.inVars.forEach((v, i) => env.set(v, args[i]));
  const read = (v: Var) => {
    const x = env.get(v);
    if (!x) throw new Error(`evalJaxpr: unbound variable ${v.id}`);
    return x;
  };
  for (const e of j.eqns) {
    const outs = bind(e.prim, e.inputs.map(read), e.params as never);
    e.outs.forEach((v, i) => env.set(v, outs[i]));
  }
  return j.outs.map(read);
}

/** Removes equations whose results are never used. */
export function dce(j: Jaxpr): Jaxpr {
  const live = new Set<Var>(j.outs);
  const kept: Eqn[] = [];
  for (let i = j.eqns.length - 1; i >= 0; i--) {
    const e = j.eqns[i];
    if (e.outs.some((v) => live.has(v))) {
      kept.push(e);
      e.inputs.forEach((v) => live.add(v));
    }
  }
  return new Jaxpr(j.inVars, kept.reverse(), j.outs);
}

const objIds = new WeakMap<object, number>();
let nextObj = 0;
/** A stable key for parameters (programs and functions by identity). */
export function paramKey(p: unknown): string {
  return JSON.stringify(p, (_k, v) => {
    if (v instanceof Jaxpr || typeof v === "function") {
      if (!objIds.has(v)) objIds.set(v, nextObj++);
      return `#${objIds.get(v)}`;
    }
    return v;
  });
}

/** Merges equations that apply the same primitive to the same inputs with the same parameters. */
export function cse(j: Jaxpr): Jaxpr {
  const rename = new Map<Var, Var>();
  const seen = new Map<string, Var[]>();
  const r = (v: Var) => rename.get(v) ?? v;
  const eqns: Eqn[] = [];
  for (const e of j.eqns) {
    const inputs = e.inputs.map(r);
    const key = `${e.prim}|${inputs.map((v) => v.id).join(",")}|${paramKey(e.params)}`;
    const prev = seen.get(key);
    if (prev) {
      e.outs.forEach((v, i) => rename.set(v, prev[i]));
      continue;
    }
    seen.set(key, e.outs);
    eqns.push({ ...e, inputs });
  }
  return new Jaxpr(j.inVars, eqns, j.outs.map(r));
}

/**
 * Evaluates equations whose inputs are all constants at trace time (small results only,
 * so folding never inflates memory). Returns the new program and constants.
 */
export function foldConstants(c: ClosedJaxpr, maxSize = 64): ClosedJaxpr {
  const { jaxpr: j } = c;
  const known = new Map<Var, Array>();
  j.inVars.slice(0, c.consts.length).forEach((v, i) => known.set(v, c.consts[i]));
  const structural = new Set<PrimName>(["jitCall", "scan", "customVjpCall", "customLin"]);
  const eqns: Eqn[] = [];
  for (const e of j.eqns) {
    const small = e.outs.every((v) => sizeOf(v.aval.shape) <= maxSize);
    if (!structural.has(e.prim) && small && e.inputs.every((v) => known.has(v)) && e.inputs.length > 0) {
      const outs = bind(e.prim, e.inputs.map((v) => known.get(v)!), e.params as never);
      e.outs.forEach((v, i) => known.set(v, outs[i]));
    } else eqns.push(e);
  }
  // Constants now needed: the original ones plus folded values still referenced.
  const used = new Set<Var>([...eqns.flatMap((e) => e.inputs), ...j.outs]);
  const argVars = j.inVars.slice(c.consts.length);
  const constVars = [...known.keys()].filter((v) => used.has(v) && !argVars.includes(v));
  return {
    jaxpr: new Jaxpr([...constVars, ...argVars], eqns, j.outs),
    consts: constVars.map((v) => known.get(v)!),
  };
}

/** DCE, CSE and constant folding, to a fixed point of one round each. */
export function simplify(c: ClosedJaxpr): ClosedJaxpr {
  const folded = foldConstants(c);
  return { jaxpr: dce(cse(folded.jaxpr)), consts: folded.consts };
}
