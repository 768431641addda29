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
  // Asked for every equation on every pass of `reorder`; `canFuseEqn` builds the op's code to answer.
  let s = shapes.get(e);
  if (s === undefined) {
    const out = e.outs[0].aval.shape;
    const same = (v: Var) => shapeEq(v.aval.shape, out);
    s = e.prim !== "broadcastInDim" && canFuseEqn(e) && e.outs.every(same) && e.inputs.every(same) ? out : null;
    shapes.set(e, s);
  }
  return s;
}
const shapes = new WeakMap<Eqn, readonly number[] | null>();

/**
 * A topological order in which fusible equations of one shape sit together. From the first
 * fusible equation on, each later equation joins its run (same shape, reading nothing that
 * must come after the run), depends on the run (it goes below), or is independent of it: an
 * independent equation goes above the run when a member needs its value and below it
 * otherwise (so nothing is computed earlier, and held longer, than a run needs). The
 * equations above are ordered the same way, and so is everything below. So an optimizer's
 * per-leaf chains, interleaved leaf by leaf in the program, each become one run.
 */
function reorder(eqns: readonly Eqn[], aliases: Map<Var, Alias>): Eqn[] {
  const out: Eqn[] = [];
  const src = (v: Var) => aliases.get(v)?.src ?? v;
  let rest = eqns;
  while (rest.length > 0) {
    const first = rest.findIndex((e) => fusibleShape(e) !== null);
    if (first < 0) {
      out.push(...rest);
      break;
    }
    out.push(...rest.slice(0, first));
    const todo = rest.slice(first);
    const shape = fusibleShape(todo[0])!;
    const kind: ("run" | "after" | "free")[] = [];
    const made = new Set<Var>(), late = new Set<Var>(); // made by the run; made below it
    for (const e of todo) {
      const s = fusibleShape(e);
      if (
        s !== null && shapeEq(s, shape) &&
        e.inputs.every((v) => !late.has(v) && !late.has(src(v)) && (!made.has(src(v)) || src(v) === v))
      ) {
        kind.push("run");
        e.outs.forEach((v) => made.add(v));
      } else if (e.inputs.some((v) => made.has(src(v)) || late.has(src(v)) || late.has(v))) {
        kind.push("after");
        e.outs.forEach((v) => late.add(v));
      } else kind.push("free");
    }
    // Independent equations the run needs (directly or through other such equations) go above it.
    const needed = new Set<Var>();
    const above: Eqn[] = [], run: Eqn[] = [], below: Eqn[] = [];
    for (let k = todo.length - 1; k >= 0; k--) {
      const e = todo[k];
      const up = kind[k] === "run" || (kind[k] === "free" && e.outs.some((v) => needed.has(v)));
      if (up) e.inputs.forEach((v) => needed.add(v).add(src(v)));
      (kind[k] === "run" ? run : up ? above : below).push(e);
    }
    [above, run, below].forEach((l) => l.reverse());
    out.push(...(above.length > 1 ? reorder(above, aliases) : above), ...run);
    rest = below;
  }
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
