/**
 * Elementwise fusion for programs: equations of elementwise primitives with the same output
 * shape are grouped (a group closes when a non-member needs one of its results, or when it
 * would exceed the device's storage-buffer limit) and each group becomes one kernel that
 * computes its members as WGSL `let`s and stores only the values used outside the group.
 * A sum/prod/max/min reduction whose input comes from an open group that nothing else reads
 * absorbs the group: it computes the chain per element inside its loop (same accumulation
 * order), so the chain's values are never stored. Anchors (contractions and reductions) also
 * compute the elementwise chain that consumes their result in their store (see epilogue.ts).
 * @module
 */
import type { Aval } from "../../array.ts";
import type { DType } from "../../dtype.ts";
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import type { PrimName } from "../../primitives/types.ts";
import type { Buf, Gpu } from "./device.ts";
import { ELEMENTWISE, exprDType, EXPRS, PRELUDE } from "./kernels/elementwise.ts";
import { type Load, reduceLoad } from "./kernels/reduce.ts";
import { contractInto } from "./kernels/contract.ts";
import { type Epilogue, epilogueStore, planEpilogues, REDUCE_OPS } from "./epilogue.ts";
import { elementKernel, groupsFor, type Store } from "./wgsl.ts";

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

/** The inputs of a group (values it reads but does not produce), in first-use order. */
function groupInputs(members: Eqn[]): Var[] {
  const produced = new Set(members.flatMap((e) => e.outs));
  const inputs: Var[] = [];
  for (const e of members) {
    for (const v of e.inputs) if (!produced.has(v) && !inputs.includes(v)) inputs.push(v);
  }
  return inputs;
}

/** WGSL `let`s computing the members at flat index `idx` from `in0..` (= `inputs`); names their values. */
function chainLines(members: Eqn[], inputs: Var[], idx: string, indent: string): [string[], Map<Var, string>] {
  const name = new Map<Var, string>();
  inputs.forEach((v, k) => name.set(v, `in${k}[${idx}]`));
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

function fusedStep(members: Eqn[], outside: (v: Var) => boolean): Step {
  const inputs = groupInputs(members);
  const outs = members.flatMap((e) => e.outs).filter(outside);
  const [lines, name] = chainLines(members, inputs, "i", "    ");
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
function reduceStep(members: Eqn[], r: Eqn, ep?: Epilogue): Step {
  const x = r.inputs[0];
  const inputs = members.length ? groupInputs(members) : [x];
  const load: Load = {
    dtypes: inputs.map((v) => v.aval.dtype),
    code: (off) => {
      if (!members.length) return { lines: "", value: `in0[${off}]` };
      const [lines, name] = chainLines(members, inputs, off, "      ");
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
  const { byAnchor, absorbed } = planEpilogues(j, maxBindings);
  const users = new Map<Var, Set<Eqn>>();
  for (const e of j.eqns) for (const v of e.inputs) (users.get(v) ?? users.set(v, new Set()).get(v)!).add(e);
  const finals = new Set(j.outs);
  const steps: Step[] = [];
  const open = new Map<string, Eqn[]>();
  const owner = new Map<Var, string>();

  const close = (key: string) => {
    const members = open.get(key);
    if (!members) return;
    open.delete(key);
    const set = new Set(members);
    for (const e of members) for (const v of e.outs) owner.delete(v);
    if (members.length === 1) {
      steps.push(stepOf(members[0]));
      return;
    }
    steps.push(fusedStep(members, (v) => finals.has(v) || [...(users.get(v) ?? [])].some((u) => !set.has(u))));
  };
  const bindingsIf = (members: Eqn[]) => {
    const produced = new Set(members.flatMap((e) => e.outs));
    const set = new Set(members);
    const ins = new Set(members.flatMap((e) => e.inputs).filter((v) => !produced.has(v)));
    const outs = [...produced].filter((v) => finals.has(v) || [...(users.get(v) ?? [])].some((u) => !set.has(u)));
    return ins.size + outs.length;
  };

  for (const e of j.eqns) {
    if (absorbed.has(e)) continue; // computed in an epilogue, or only read through by one
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
      if (internal && groupInputs(members).length + epBindings <= maxBindings) {
        open.delete(k0);
        for (const m of members) for (const v of m.outs) owner.delete(v);
        for (const v of ep?.bases ?? []) if (owner.has(v)) close(owner.get(v)!);
        steps.push(reduceStep(members, e, ep));
        continue;
      }
    }
    if (ep) {
      for (const v of [...e.inputs, ...ep.bases]) if (owner.has(v)) close(owner.get(v)!);
      steps.push(REDUCE_OPS[e.prim] ? reduceStep([], e, ep) : contractStep(e, ep));
      continue;
    }
    const fusable = ELEMENTWISE.has(e.prim) && e.outs.length === 1 && sizeOf(e.outs[0].aval.shape) > 0;
    const key = fusable ? shapeKey(e.outs[0].aval) : "-";
    // Groups that produced an input of a non-member must run first.
    for (const v of e.inputs) {
      const k = owner.get(v);
      if (k !== undefined && k !== key) close(k);
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
