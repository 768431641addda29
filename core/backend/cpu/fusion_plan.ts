/**
 * Partitioning of a program for cpu fusion: broadcasts become index arithmetic (aliases of
 * their source), elementwise equations of one shape are gathered into maximal runs — after a
 * reorder that hoists independent equations above an open run — and everything else stays a
 * kernel call. The order of dependent equations is never changed.
 * @module
 */
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { shapeEq, stridesOf } from "../../shape.ts";
import type { MovementParams } from "../../primitives/movement.ts";
import { canFuseEqn } from "./fusion.ts";

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
