/**
 * Elementwise fusion for programs: equations of elementwise primitives with the same output
 * shape are grouped (a group closes when a non-member needs one of its results, or when it
 * would exceed the device's storage-buffer limit) and each group becomes one kernel that
 * computes its members as WGSL `let`s and stores only the values used outside the group.
 * A sum/prod/max/min reduction whose input comes from an open group that nothing else reads
 * absorbs the group: it computes the chain per element inside its loop (same accumulation
 * order), so the chain's values are never stored.
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

const REDUCE_OPS: Partial<Record<PrimName, "sum" | "prod" | "max" | "min">> = {
  reduceSum: "sum",
  reduceProd: "prod",
  reduceMax: "max",
  reduceMin: "min",
};

/**
 * A reduction `r` that computes the elementwise group `members` (whose values only `r` reads)
 * per element inside its loop instead of reading a materialised input.
 */
function reduceStep(members: Eqn[], r: Eqn): Step {
  const inputs = groupInputs(members);
  const x = r.inputs[0];
  const load: Load = {
    dtypes: inputs.map((v) => v.aval.dtype),
    code: (off) => {
      const [lines, name] = chainLines(members, inputs, off, "      ");
      return { lines: lines.join("\n"), value: name.get(x)! };
    },
  };
  const { axes } = r.params as { axes: number[] };
  return {
    inputs,
    inAvals: inputs.map((v) => v.aval),
    outAvals: [r.outs[0].aval],
    outs: [r.outs[0]],
    run: (gpu, ins) => [reduceLoad(gpu, ins, load, x.aval, axes, REDUCE_OPS[r.prim]!)],
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
    // A reduction whose input comes from an open group that nothing else reads absorbs it.
    const k0 = REDUCE_OPS[e.prim] && e.inputs.length === 1 ? owner.get(e.inputs[0]) : undefined;
    if (k0 !== undefined) {
      const members = open.get(k0)!;
      const set = new Set<Eqn>([...members, e]);
      const internal = members.every((m) =>
        m.outs.every((v) => !finals.has(v) && [...(users.get(v) ?? [])].every((u) => set.has(u)))
      );
      if (internal && groupInputs(members).length + 1 <= maxBindings) {
        open.delete(k0);
        for (const m of members) for (const v of m.outs) owner.delete(v);
        steps.push(reduceStep(members, e));
        continue;
      }
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
