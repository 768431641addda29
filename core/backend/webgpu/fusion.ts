/**
 * Elementwise fusion for programs: equations of elementwise primitives with the same output
 * shape are grouped (a group closes when a non-member needs one of its results, or when it
 * would exceed the device's storage-buffer limit) and each group becomes one kernel that
 * computes its members as WGSL `let`s and stores only the values used outside the group.
 * @module
 */
import type { Aval } from "../../array.ts";
import type { DType } from "../../dtype.ts";
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { sizeOf } from "../../shape.ts";
import type { PrimName } from "../../primitives/types.ts";
import type { Buf, Gpu } from "./device.ts";
import { ELEMENTWISE, exprDType, EXPRS, PRELUDE } from "./kernels/elementwise.ts";
import { elementKernel, groupsFor } from "./wgsl.ts";

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

function fusedStep(members: Eqn[], outside: (v: Var) => boolean): Step {
  const produced = new Set(members.flatMap((e) => e.outs));
  const inputs: Var[] = [];
  for (const e of members) {
    for (const v of e.inputs) if (!produced.has(v) && !inputs.includes(v)) inputs.push(v);
  }
  const outs = members.flatMap((e) => e.outs).filter(outside);
  const name = new Map<Var, string>();
  inputs.forEach((v, k) => name.set(v, `in${k}[i]`));
  const lines: string[] = [];
  let t = 0;
  for (const e of members) {
    const inAvals = e.inputs.map((v) => v.aval);
    const d: DType = exprDType(e.prim, inAvals);
    const f = EXPRS[e.prim as keyof typeof EXPRS] as (a: string[], d: DType, o: DType, p: unknown) => string;
    const v = `v${t++}`;
    lines.push(`    let ${v} = ${f(e.inputs.map((x) => name.get(x)!), d, e.outs[0].aval.dtype, e.params)};`);
    name.set(e.outs[0], v);
  }
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

/** The steps of program `j`: its equations with elementwise chains fused. */
export function planFusion(j: Jaxpr): Step[] {
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
