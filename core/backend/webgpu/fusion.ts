/**
 * Elementwise fusion for programs: equations of elementwise primitives with the same output
 * shape are grouped (a group closes when a non-member needs one of its results, or when it
 * would exceed the device's storage-buffer limit) and each group becomes one kernel that
 * computes its members as WGSL `let`s and stores only the values used outside the group.
 * A sum/prod/max/min reduction whose input comes from an open group that nothing else reads
 * absorbs the group: it computes the chain per element inside its loop (same accumulation
 * order), so the chain's values are never stored. Anchors (contractions and reductions) also
 * compute the elementwise chain that consumes their result in their store (see epilogue.ts).
 * Groups read broadcasts and reshapes of a buffer through index arithmetic (see broadcast.ts).
 * @module
 */
import type { Aval } from "../../array.ts";
import type { DType } from "../../dtype.ts";
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import type { PrimName } from "../../primitives/types.ts";
import type { Buf, Gpu } from "./device.ts";
import { exprDType, EXPRS, PRELUDE } from "./kernels/elementwise.ts";
import { type Load, reduceLoad } from "./kernels/reduce.ts";
import { contractInto } from "./kernels/contract.ts";
import { type Epilogue, epilogueStore, planEpilogues, REDUCE_OPS } from "./epilogue.ts";
import { elementKernel, groupsFor, type Store } from "./wgsl.ts";
import { fusableEqn, planViews, type View } from "./broadcast.ts";

/** One step of a program plan: a primitive, or a fused kernel (`run`). */
export interface Step {
  prim?: PrimName;
  params?: unknown;
  inputs: Var[];
  inAvals: Aval[];
  outAvals: Aval[];
  outs: Var[];
  run?: (gpu: Gpu, ins: Buf[]) => Buf[];
}

/** Storage buffers a fused kernel may bind (the WebGPU default limit). */
let maxBindings = 8;
/** Sets the storage-buffer limit fusion respects (the device's). */
export function setFusionLimit(n: number): void {
  maxBindings = n;
}

const stepOf = (e: Eqn): Step => ({
  prim: e.prim,
  params: e.params,
  inputs: e.inputs,
  inAvals: e.inputs.map((v) => v.aval),
  outAvals: e.outs.map((v) => v.aval),
  outs: e.outs,
});

const shapeKey = (a: Aval) => `s[${a.shape.join(",")}]`;

/** How a group reads the values it does not produce: the buffers it binds, and each value's read. */
interface Reads {
  bases: Var[];
  at: Map<Var, { k: number; index: (i: string) => string }>;
}

/** The reads of a group (values it reads but does not produce, through `resolve`), bases in first-use order. */
function groupReads(members: Eqn[], resolve: (v: Var) => View): Reads {
  const produced = new Set(members.flatMap((e) => e.outs));
  const bases: Var[] = [];
  const at: Reads["at"] = new Map();
  for (const e of members) {
    for (const v of e.inputs) {
      if (produced.has(v) || at.has(v)) continue;
      const { base, index } = resolve(v);
      if (!bases.includes(base)) bases.push(base);
      at.set(v, { k: bases.indexOf(base), index });
    }
  }
  return { bases, at };
}

/** WGSL `let`s computing the members at flat index `idx` from `in0..` (`reads`); names their values. */
function chainLines(members: Eqn[], reads: Reads, idx: string, indent: string): [string[], Map<Var, string>] {
  const name = new Map<Var, string>();
  for (const [v, { k, index }] of reads.at) name.set(v, `in${k}[${index(idx)}]`);
  const lines: string[] = [];
  let t = 0;
  for (const e of members) {
    const inAvals = e.inputs.map((v) => v.aval);
    const d: DType = exprDType(e.prim, inAvals);
    const f = EXPRS[e.prim as keyof typeof EXPRS] as (a: string[], d: DType, o: DType, p: unknown) => string;
    const v = `v${t++}`;
    lines.push(`${indent}let ${v} = ${f(e.inputs.map((x) => name.get(x)!), d, e.outs[0].aval.dtype, e.params)};`);
    name.set(e.outs[0], v);
  }
  return [lines, name];
}

function fusedStep(members: Eqn[], resolve: (v: Var) => View, outside: (v: Var) => boolean): Step {
  const reads = groupReads(members, resolve);
  const inputs = reads.bases;
  const outs = members.flatMap((e) => e.outs).filter(outside);
  const [lines, name] = chainLines(members, reads, "i", "    ");
  outs.forEach((v, k) => lines.push(`    out${k}[i] = ${name.get(v)};`));
  const n = sizeOf(members[0].outs[0].aval.shape);
  const code = elementKernel(
    inputs.map((v) => v.aval.dtype),
    outs.map((v) => v.aval.dtype),
    n,
    lines.join("\n"),
    PRELUDE,
  );
  return {
    inputs,
    inAvals: inputs.map((v) => v.aval),
    outAvals: outs.map((v) => v.aval),
    outs,
    run: (gpu, ins) => {
      const bufs = outs.map(() => gpu.alloc(4 * n));
      gpu.dispatch({ code, ins, outs: bufs, groups: groupsFor(n) });
      return bufs;
    },
  };
}

/** A step running `run` on `inputs` (then the epilogue's bases) that writes the epilogue's outputs (or `e`'s). */
function anchorStep(
  e: Eqn,
  inputs: Var[],
  ep: Epilogue | undefined,
  run: (gpu: Gpu, ins: Buf[], store?: Store) => Buf[],
): Step {
  const all = [...inputs, ...(ep?.bases ?? [])];
  const outs = ep?.outs ?? e.outs;
  const store = ep && epilogueStore(e.outs[0], ep);
  return {
    inputs: all,
    inAvals: all.map((v) => v.aval),
    outAvals: outs.map((v) => v.aval),
    outs,
    run: (gpu: Gpu, ins: Buf[]) => run(gpu, ins, store),
  };
}

/**
 * A reduction `r` that computes the elementwise group `members` (whose values only `r` reads)
 * per element inside its loop instead of reading a materialised input (none: reads its input),
 * and its epilogue `ep` in its store.
 */
function reduceStep(members: Eqn[], r: Eqn, resolve: (v: Var) => View, ep?: Epilogue): Step {
  const x = r.inputs[0];
  const reads = groupReads(members, resolve);
  const inputs = members.length ? reads.bases : [x];
  const load: Load = {
    dtypes: inputs.map((v) => v.aval.dtype),
    code: (off) => {
      if (!members.length) return { lines: "", value: `in0[${off}]` };
      const [lines, name] = chainLines(members, reads, off, "      ");
      return { lines: lines.join("\n"), value: name.get(x)! };
    },
  };
  const { axes } = r.params as { axes: number[] };
  const op = REDUCE_OPS[r.prim]!;
  return anchorStep(r, inputs, ep, (gpu, ins, store) => reduceLoad(gpu, ins, { load, aval: x.aval, axes, op, store }));
}

/** A contraction computing its epilogue `ep` in its store. */
function contractStep(e: Eqn, ep: Epilogue): Step {
  const prim = e.prim as "dotGeneral" | "convGeneralDilated";
  const avals = e.inputs.map((v) => v.aval);
  return anchorStep(
    e,
    e.inputs,
    ep,
    (gpu, ins, store) => contractInto(gpu, prim, ins, avals, e.params as never, e.outs[0].aval, store),
  );
}

/** The steps of program `j`: its equations with elementwise chains fused. */
export function planFusion(j: Jaxpr): Step[] {
  const { byAnchor, members: epMembers, through } = planEpilogues(j, maxBindings);
  const { dropped, resolve } = planViews(j, epMembers, through);
  const users = new Map<Var, Set<Eqn>>();
  for (const e of j.eqns) for (const v of e.inputs) (users.get(v) ?? users.set(v, new Set()).get(v)!).add(e);
  const finals = new Set(j.outs);
  const steps: Step[] = [];
  const open = new Map<string, Eqn[]>();
  const owner = new Map<Var, string>();
  /** Whether `e` reads a value through a dropped view (so it needs a fused kernel even alone). */
  const readsView = (e: Eqn) => e.inputs.some((v) => resolve(v).base !== v);

  const close = (key: string) => {
    const members = open.get(key);
    if (!members) return;
    open.delete(key);
    const set = new Set(members);
    for (const e of members) for (const v of e.outs) owner.delete(v);
    if (members.length === 1 && !readsView(members[0])) {
      steps.push(stepOf(members[0]));
      return;
    }
    const outside = (v: Var) => finals.has(v) || [...(users.get(v) ?? [])].some((u) => !set.has(u));
    steps.push(fusedStep(members, resolve, outside));
  };
  const bindingsIf = (members: Eqn[]) => {
    const set = new Set(members);
    const outs = members.flatMap((e) => e.outs).filter((v) =>
      finals.has(v) || [...(users.get(v) ?? [])].some((u) => !set.has(u))
    );
    return groupReads(members, resolve).bases.length + outs.length;
  };

  for (const e of j.eqns) {
    if (epMembers.has(e) || dropped.has(e)) continue; // computed in an epilogue, or read through
    const ep = byAnchor.get(e);
    // A reduction whose input comes from an open group that nothing else reads absorbs it
    // (if its kernel can also bind the epilogue's buffers).
    const k0 = REDUCE_OPS[e.prim] && e.inputs.length === 1 ? owner.get(e.inputs[0]) : undefined;
    const epBindings = ep ? ep.bases.length + ep.outs.length : 1;
    if (k0 !== undefined) {
      const members = open.get(k0)!;
      const set = new Set<Eqn>([...members, e]);
      const internal = members.every((m) =>
        m.outs.every((v) => !finals.has(v) && [...(users.get(v) ?? [])].every((u) => set.has(u)))
      );
      if (internal && groupReads(members, resolve).bases.length + epBindings <= maxBindings) {
        open.delete(k0);
        for (const m of members) for (const v of m.outs) owner.delete(v);
        for (const v of ep?.bases ?? []) if (owner.has(v)) close(owner.get(v)!);
        steps.push(reduceStep(members, e, resolve, ep));
        continue;
      }
    }
    if (ep) {
      for (const v of [...e.inputs, ...ep.bases]) if (owner.has(v)) close(owner.get(v)!);
      steps.push(REDUCE_OPS[e.prim] ? reduceStep([], e, resolve, ep) : contractStep(e, ep));
      continue;
    }
    const fusable = fusableEqn(e);
    const key = fusable ? shapeKey(e.outs[0].aval) : "-";
    // Groups that produced an input of a non-member must run first, and so must any group that
    // produced a buffer read through a view (its values are indexed, not computed in step).
    for (const v of e.inputs) {
      const k = owner.get(v);
      if (k !== undefined && k !== key) close(k);
      const { base } = resolve(v);
      if (base !== v && owner.has(base)) close(owner.get(base)!);
    }
    if (!fusable) {
      steps.push(stepOf(e));
      continue;
    }
    const members = open.get(key) ?? [];
    if (members.length > 0 && bindingsIf([...members, e]) > maxBindings) close(key);
    const m = open.get(key) ?? [];
    m.push(e);
    open.set(key, m);
    owner.set(e.outs[0], key);
  }
  for (const k of [...open.keys()]) close(k);
  return steps;
}
