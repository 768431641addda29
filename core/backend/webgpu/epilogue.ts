/**
 * Epilogue fusion for programs: an anchor — `dotGeneral`, `convGeneralDilated` or a
 * sum/prod/max/min reduction — computes the elementwise chain that consumes its result in its
 * own store (bias add, activation, scale, `sqrt(var + eps)`, casts), so chain values that
 * nothing else reads are never written. A chain member has the anchor's output size and reads
 * chain values plus operands that exist before the anchor runs: values of the output's shape
 * (read at the output index), scalars, and broadcasts/reshapes of earlier values, which the
 * store indexes directly (broadcast.ts drops the broadcast when every reader indexes it).
 * Values read by anything outside the chain, and program outputs, are still stored.
 * @module
 */
import type { DType } from "../../dtype.ts";
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import type { PrimName } from "../../primitives/types.ts";
import { ELEMENTWISE, exprDType, EXPRS, PRELUDE } from "./kernels/elementwise.ts";
import type { Store } from "./wgsl.ts";
import { isView, viewIndex } from "./broadcast.ts";

/** Whether jit plans epilogues (tests switch it off to count what they save; plans are cached per program). */
export const epilogueFusion = { enabled: true };

/** Reductions that can carry an epilogue (with `dotGeneral` and `convGeneralDilated`). */
export const REDUCE_OPS: Partial<Record<PrimName, "sum" | "prod" | "max" | "min">> = {
  reduceSum: "sum",
  reduceProd: "prod",
  reduceMax: "max",
  reduceMin: "min",
};
const isAnchor = (e: Eqn) =>
  e.prim === "dotGeneral" || e.prim === "convGeneralDilated" || (REDUCE_OPS[e.prim] && e.inputs.length === 1);
/** Bindings of an anchor's own operands (a reduction's prologue may need more: fusion.ts checks). */
const anchorBindings = (e: Eqn) => (e.prim === "dotGeneral" || e.prim === "convGeneralDilated" ? 2 : 1);

/** How a chain member reads a value from outside the chain: binding `base` at `index(flat output index)`. */
interface Read {
  base: number;
  index: (i: string) => string;
}

/** The epilogue of one anchor. */
export interface Epilogue {
  /** Elementwise and reshape equations computed in the store, in program order. */
  members: Eqn[];
  /** Values bound as extra inputs of the anchor's kernel. */
  bases: Var[];
  /** How members read their operands from outside the chain. */
  reads: Map<Var, Read>;
  /** Values written: the chain values (the anchor's result included) read outside the chain. */
  outs: Var[];
}

/** Epilogues by anchor, their members and the views (broadcasts/reshapes) the members read through. */
export interface EpiloguePlan {
  byAnchor: Map<Eqn, Epilogue>;
  /** Members of epilogues (they need no step of their own). */
  members: Set<Eqn>;
  /** Per view, the members that read through it (see broadcast.ts). */
  through: Map<Eqn, Set<Eqn>>;
}

/** Plans the epilogue of every anchor of `j` whose kernel can bind at most `maxBindings` buffers. */
export function planEpilogues(j: Jaxpr, maxBindings: number): EpiloguePlan {
  const defs = new Map<Var, [Eqn, number]>();
  const users = new Map<Var, Eqn[]>();
  const lastUse = new Map<Var, number>();
  j.eqns.forEach((e, k) => {
    for (const v of e.outs) defs.set(v, [e, k]);
    for (const v of e.inputs) {
      (users.get(v) ?? users.set(v, []).get(v)!).push(e);
      lastUse.set(v, k);
    }
  });
  const finals = new Set(j.outs);
  const byAnchor = new Map<Eqn, Epilogue>();
  const members = new Set<Eqn>();
  /** Per broadcast/reshape, the members that read through it. */
  const through = new Map<Eqn, Set<Eqn>>();

  /** `v` as a base value and an index map, looking through broadcasts and reshapes of non-members. */
  const resolve = (v: Var) => {
    let index = (i: string) => i;
    const path: Eqn[] = [];
    for (let depth = 0; depth < 4; depth++) {
      const e = defs.get(v)?.[0];
      if (!e || members.has(e) || !isView(e)) break;
      const f = index, view = e;
      index = (i) => viewIndex(view, f(i));
      path.push(e);
      v = e.inputs[0];
    }
    if (sizeOf(v.aval.shape) === 1) index = () => "0";
    return { base: v, index, path };
  };

  j.eqns.forEach((a, ai) => {
    if (!epilogueFusion.enabled || !isAnchor(a)) return;
    const n = sizeOf(a.outs[0].aval.shape);
    if (n === 0) return;
    const chain = new Set<Var>([a.outs[0]]);
    const mem = new Set<Eqn>();
    const bases: Var[] = [];
    const reads = new Map<Var, Read>();
    const paths: [Eqn, Eqn[]][] = [];
    const pathOf = new Map<Var, Eqn[]>();
    const stored = () => [...chain].filter((v) => finals.has(v) || (users.get(v) ?? []).some((u) => !mem.has(u)));
    let end = lastUse.get(a.outs[0]) ?? -1;
    let outs = stored();
    for (let k = ai + 1; k <= end; k++) {
      const e = j.eqns[k];
      if (members.has(e) || e.outs.length !== 1 || !e.inputs.some((v) => chain.has(v))) continue;
      if (sizeOf(e.outs[0].aval.shape) !== n || (e.prim !== "reshape" && !ELEMENTWISE.has(e.prim))) continue;
      // Operands from outside the chain must exist before the anchor runs.
      const newReads: [Var, Var, (i: string) => string, Eqn[]][] = [];
      const again: Var[] = []; // read by earlier members already (e reads through their views too)
      const ok = e.inputs.every((v) => {
        if (chain.has(v)) return true;
        if (reads.has(v)) return again.push(v) > 0;
        const r = resolve(v);
        const at = defs.get(r.base)?.[1] ?? -1;
        if (at >= ai) return false;
        newReads.push([v, r.base, r.index, r.path]);
        return true;
      });
      if (!ok) continue;
      const newBases = [...new Set(newReads.map(([, b]) => b))].filter((b) => !bases.includes(b));
      mem.add(e);
      chain.add(e.outs[0]);
      const next = stored();
      if (anchorBindings(a) + bases.length + newBases.length + next.length > maxBindings) {
        mem.delete(e);
        chain.delete(e.outs[0]);
        continue;
      }
      outs = next;
      bases.push(...newBases);
      for (const [v, b, index, path] of newReads) {
        reads.set(v, { base: bases.indexOf(b), index });
        pathOf.set(v, path);
      }
      for (const v of [...again, ...newReads.map(([v]) => v)]) paths.push([e, pathOf.get(v)!]);
      end = Math.max(end, lastUse.get(e.outs[0]) ?? -1);
    }
    if (![...mem].some((e) => e.prim !== "reshape")) return;
    for (const e of mem) members.add(e);
    for (const [e, path] of paths) for (const p of path) (through.get(p) ?? through.set(p, new Set()).get(p)!).add(e);
    byAnchor.set(a, { members: [...mem], bases, reads, outs });
  });

  return { byAnchor, members, through };
}

/** The helper functions of `PRELUDE`, each with the helpers it calls. */
const HELPERS: [string, string][] = PRELUDE.split(/\n(?=fn |\/\/)/).map((t) => [/^fn (\w+)/.exec(t)?.[1] ?? "", t]);

/** The `PRELUDE` helpers `code` calls (and those they call), in declaration order. */
export function helpersFor(code: string): string {
  const used = new Set<string>();
  let text = code, grew = true;
  while (grew) {
    grew = false;
    for (const [name, body] of HELPERS) {
      if (name && !used.has(name) && new RegExp(`\\b${name}\\(`).test(text)) {
        used.add(name);
        text += body;
        grew = true;
      }
    }
  }
  return HELPERS.filter(([name]) => used.has(name)).map(([, body]) => body).join("\n");
}

/** The store of an anchor with result `result` and epilogue `ep`: computes the chain, writes `ep.outs`. */
export function epilogueStore(result: Var, ep: Epilogue): Store {
  const store: Store = {
    ins: ep.bases.map((v) => v.aval.dtype),
    outs: ep.outs.map((v) => v.aval.dtype),
    fused: true,
    code: (first, idx, value) => {
      const name = new Map<Var, string>([[result, "ep0"]]);
      const lines = [`let ep0 = ${value};`];
      const operand = (v: Var) => {
        const s = name.get(v);
        if (s) return s;
        const r = ep.reads.get(v)!;
        return `in${first + r.base}[${r.index(idx)}]`;
      };
      ep.members.forEach((e, t) => {
        if (e.prim === "reshape") {
          name.set(e.outs[0], operand(e.inputs[0]));
          return;
        }
        const f = EXPRS[e.prim as keyof typeof EXPRS] as (a: string[], d: DType, o: DType, p: unknown) => string;
        const d = exprDType(e.prim, e.inputs.map((v) => v.aval));
        lines.push(`let ep${t + 1} = ${f(e.inputs.map(operand), d, e.outs[0].aval.dtype, e.params)};`);
        name.set(e.outs[0], `ep${t + 1}`);
      });
      ep.outs.forEach((v, k) => lines.push(`out${k}[${idx}] = ${operand(v)};`));
      return lines.join("\n      ");
    },
  };
  store.decls = helpersFor(store.code(0, "i", "v"));
  return store;
}
