/**
 * The fused plan of a program on the cpu: broadcasts become index arithmetic (aliases of
 * their source), elementwise equations of one shape are gathered into maximal runs — after a
 * reorder that hoists independent equations above an open run — and become generated loops
 * (fusion.ts); everything else stays one step per equation. The order of dependent equations
 * is never changed. The executor only runs the steps.
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { shapeEq, stridesOf } from "../../shape.ts";
import type { MovementParams } from "../../primitives/params.ts";
import { canFuseEqn, fusedKernel } from "./fusion.ts";
import { gatherStrided } from "./kernels/movement.ts";

/** One step of a plan: a kernel, a structural primitive or a fused loop over env values. */
export interface PlanStep {
  /** Runs the step: the values of `reads` in, the values of `writes` out. */
  run: (ins: TypedArray[]) => TypedArray[];
  /** Variables read, in argument order. */
  reads: Var[];
  /** Variables written, in result order. */
  writes: Var[];
  /** The primitive (or "fused"), for profiles. */
  prim: string;
  /** A structural primitive (its time is its body's, so profiles skip it). */
  structural?: boolean;
}

/** A broadcast output seen as its (non-broadcast) source read with strides over the output shape. */
export interface Alias {
  /** The materialised source. */
  src: Var;
  /** Element strides into `src` per output axis (0 along broadcast axes). */
  strides: number[];
}

/** One unit of a fused plan, in execution order. */
export type Item =
  | { kind: "eqn"; eqn: Eqn }
  | { kind: "bcast"; eqn: Eqn; alias: Alias }
  | { kind: "group"; eqns: Eqn[]; shape: number[] };

/** The alias of every `broadcastInDim` output, chains of broadcasts composed. */
export function broadcastAliases(j: Jaxpr): Map<Var, Alias> {
  const aliases = new Map<Var, Alias>();
  for (const e of j.eqns) {
    if (e.prim !== "broadcastInDim") continue;
    const { shape, dims } = e.params as MovementParams["broadcastInDim"];
    const x = e.inputs[0];
    const inner = aliases.get(x);
    const st = inner ? inner.strides : stridesOf(x.aval.shape);
    const strides = shape.map(() => 0);
    dims.forEach((d, i) => {
      if (x.aval.shape[i] !== 1) strides[d] = st[i];
    });
    aliases.set(e.outs[0], { src: inner ? inner.src : x, strides });
  }
  return aliases;
}

/** The loop shape of a fusible equation (all operands and results of one shape), or null. */
function fusibleShape(e: Eqn): readonly number[] | null {
  if (e.prim === "broadcastInDim" || !canFuseEqn(e)) return null;
  const s = e.outs[0].aval.shape;
  const same = (v: Var) => shapeEq(v.aval.shape, s);
  return e.outs.every(same) && e.inputs.every(same) ? s : null;
}

/**
 * Moves equations that do not depend on an open run of fusible equations above it, so that
 * later fusible equations of the run's shape join it. Returns a topological order.
 */
function reorder(eqns: readonly Eqn[], aliases: Map<Var, Alias>): Eqn[] {
  const out: Eqn[] = [];
  let run: Eqn[] = [], hoisted: Eqn[] = [], shape: readonly number[] | null = null;
  const made = new Set<Var>();
  const readsRun = (e: Eqn) => e.inputs.some((v) => made.has(v) || made.has(aliases.get(v)?.src as Var));
  const flush = () => {
    out.push(...hoisted, ...run);
    run = [];
    hoisted = [];
    shape = null;
    made.clear();
  };
  const open = (e: Eqn, s: readonly number[]) => {
    shape = s;
    run.push(e);
    e.outs.forEach((v) => made.add(v));
  };
  for (const e of eqns) {
    const s = fusibleShape(e);
    const viaAlias = e.inputs.some((v) => made.has(aliases.get(v)?.src as Var));
    if (shape && s && shapeEq(s, shape) && !viaAlias) open(e, s);
    else if (shape && !readsRun(e)) hoisted.push(e);
    else {
      if (shape) flush();
      if (s) open(e, s);
      else out.push(e);
    }
  }
  flush();
  return out;
}

/** Splits `j` into kernel calls, broadcasts (read as aliases) and fused runs. */
export function partition(j: Jaxpr, aliases: Map<Var, Alias>): Item[] {
  const items: Item[] = [];
  let group: { eqns: Eqn[]; shape: readonly number[]; made: Set<Var> } | null = null;
  const close = () => {
    if (group) items.push({ kind: "group", eqns: group.eqns, shape: [...group.shape] });
    group = null;
  };
  for (const e of reorder(j.eqns, aliases)) {
    if (e.prim === "broadcastInDim") {
      const alias = aliases.get(e.outs[0])!;
      if (group?.made.has(alias.src)) close();
      items.push({ kind: "bcast", eqn: e, alias });
      continue;
    }
    const s = fusibleShape(e);
    const g = group as { eqns: Eqn[]; shape: readonly number[]; made: Set<Var> } | null;
    if (s && g && shapeEq(s, g.shape) && !e.inputs.some((v) => g.made.has(aliases.get(v)?.src as Var))) {
      g.eqns.push(e);
      e.outs.forEach((v) => g.made.add(v));
      continue;
    }
    close();
    if (s) group = { eqns: [e], shape: s, made: new Set(e.outs) };
    else items.push({ kind: "eqn", eqn: e });
  }
  close();
  return items;
}

/**
 * The steps of the fused plan of `j`: groups become generated loops, broadcasts are
 * materialised only where something other than a group reads them, and every other
 * equation is the step `eqnStep` makes of it.
 */
export function fusedSteps(j: Jaxpr, eqnStep: (e: Eqn) => PlanStep): PlanStep[] {
  const aliases = broadcastAliases(j);
  const items = partition(j, aliases);
  const direct = new Set<Var>(j.outs);
  for (const it of items) if (it.kind === "eqn") it.eqn.inputs.forEach((v) => direct.add(v));
  // Reads of every item (group reads resolve broadcasts to their sources).
  const groupReads = new Map<Item, { v: Var; src: Var; strides: number[] }[]>();
  const read = new Set<Var>(j.outs);
  for (const it of items) {
    if (it.kind === "eqn") it.eqn.inputs.forEach((v) => read.add(v));
    else if (it.kind === "bcast") {
      if (direct.has(it.eqn.outs[0])) read.add(it.alias.src);
    } else {
      const made = new Set(it.eqns.flatMap((e) => e.outs));
      const seen = new Map<Var, { v: Var; src: Var; strides: number[] }>();
      for (const e of it.eqns) {
        for (const v of e.inputs) {
          if (made.has(v) || seen.has(v)) continue;
          const a = aliases.get(v);
          seen.set(v, { v, src: a ? a.src : v, strides: a ? a.strides : stridesOf(v.aval.shape) });
          read.add(a ? a.src : v);
        }
      }
      groupReads.set(it, [...seen.values()]);
    }
  }
  const steps: PlanStep[] = [];
  for (const it of items) {
    if (it.kind === "eqn") steps.push(eqnStep(it.eqn));
    else if (it.kind === "bcast") {
      const o = it.eqn.outs[0], { src, strides } = it.alias;
      if (!direct.has(o)) continue;
      const run = ([x]: TypedArray[]) => [gatherStrided(x, 0, strides, o.aval.shape, o.aval.dtype)];
      steps.push({ run, reads: [src], writes: [o], prim: "broadcastInDim" });
    } else {
      const reads = groupReads.get(it)!;
      const writes = it.eqns.flatMap((e) => e.outs).filter((v) => read.has(v));
      if (writes.length === 0) continue;
      const index = new Map(reads.map((r, k) => [r.v, k]));
      const run = fusedKernel<Var>({
        shape: it.shape,
        reads: reads.map((r) => ({ v: r.v, dtype: r.v.aval.dtype, strides: r.strides })),
        eqns: it.eqns.map((e) => ({
          prim: e.prim,
          params: e.params,
          ins: e.inputs.map((v) => index.get(v) ?? v),
          inDtypes: e.inputs.map((v) => v.aval.dtype),
          outs: e.outs,
          outDtypes: e.outs.map((v) => v.aval.dtype),
        })),
        outs: writes.map((v) => ({ v, dtype: v.aval.dtype })),
      });
      steps.push({ run, reads: reads.map((r) => r.src), writes, prim: "fused" });
    }
  }
  return steps;
}
