/**
 * Broadcasts read in place: a fused kernel that reads `broadcastInDim(x)` (or a reshape) binds
 * `x` itself and maps its flat index to `x`'s by index arithmetic, so the broadcast is never
 * materialised. A view (broadcast or reshape) gets no step of its own when every reader looks
 * through it — elementwise groups (and the reductions that absorb them), epilogue members, and
 * other such views; otherwise (a GEMM/conv operand, a program output, any kernel that needs a
 * contiguous buffer) it is materialised once and every reader reads that buffer.
 * @module
 */
import type { Eqn, Jaxpr, Var } from "../../ir.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import { ELEMENTWISE } from "./kernels/elementwise.ts";

/** Whether elementwise groups read views in place (tests switch it off to count what it saves; epilogues always do). */
export const viewFusion = { enabled: true };

/** A value as a fused kernel reads it: buffer `base` at `index(flat index of the value)`. */
export interface View {
  base: Var;
  index: (i: string) => string;
}

/** Whether `e` joins an elementwise group (one output, not empty). */
export const fusableEqn = (e: Eqn): boolean =>
  ELEMENTWISE.has(e.prim) && e.outs.length === 1 && sizeOf(e.outs[0].aval.shape) > 0;

/** Whether `e` is a view: a broadcast or reshape, which a reader can index through. */
export const isView = (e: Eqn): boolean => e.prim === "broadcastInDim" || e.prim === "reshape";

/** Flat index into `src` of the element of `broadcastInDim(src, shape, dims)` at flat index `f`. */
export function broadcastIndex(
  f: string,
  shape: readonly number[],
  dims: readonly number[],
  src: readonly number[],
): string {
  const so = stridesOf(shape), ss = stridesOf(src);
  const terms = dims.flatMap((d, j) => {
    if (src[j] === 1) return [];
    let q = so[d] === 1 ? `(${f})` : `((${f}) / ${so[d]})`;
    if (d > 0) q = `(${q} % ${shape[d]})`;
    return [ss[j] === 1 ? q : `${q} * ${ss[j]}`];
  });
  return terms.length ? terms.join(" + ") : "0";
}

/** The index map of view `e`: flat index of its input for flat index `f` of its output. */
export function viewIndex(e: Eqn, f: string): string {
  if (e.prim === "reshape") return f;
  const { shape, dims } = e.params as { shape: number[]; dims: number[] };
  return broadcastIndex(f, shape, dims, e.inputs[0].aval.shape);
}

/** Views that need no step, and how fused kernels read values through them. */
export interface ViewPlan {
  /** Views every reader of which indexes through them. */
  dropped: Set<Eqn>;
  /** `v` as a fused kernel reads it: through dropped views to the first materialised value. */
  resolve: (v: Var) => View;
}

/**
 * Plans which views of `j` are dropped, given the epilogue members (`members`, which read
 * through the views `through` maps to them).
 */
export function planViews(j: Jaxpr, members: Set<Eqn>, through: Map<Eqn, Set<Eqn>>): ViewPlan {
  const defs = new Map<Var, Eqn>();
  const users = new Map<Var, Eqn[]>();
  for (const e of j.eqns) {
    for (const v of e.outs) defs.set(v, e);
    for (const v of e.inputs) (users.get(v) ?? users.set(v, []).get(v)!).push(e);
  }
  const finals = new Set(j.outs);
  const dropped = new Set<Eqn>();
  // Latest first, so a view read only by dropped views is decided after them.
  for (let k = j.eqns.length - 1; k >= 0; k--) {
    const e = j.eqns[k];
    if (!isView(e) || members.has(e) || finals.has(e.outs[0])) continue;
    const mine = through.get(e) ?? new Set<Eqn>();
    const readsThrough = (u: Eqn) => {
      // An epilogue member resolved its operand through `e`; a dropped view's readers
      // continue through `e` (groups always, its epilogue readers if they resolved through `e` too).
      if (members.has(u)) return mine.has(u);
      if (dropped.has(u)) return [...(through.get(u) ?? [])].every((m) => mine.has(m));
      return viewFusion.enabled && fusableEqn(u);
    };
    if ((users.get(e.outs[0]) ?? []).every(readsThrough)) dropped.add(e);
  }
  const resolve = (v: Var): View => {
    let index = (i: string) => i;
    for (let e = defs.get(v); e && dropped.has(e); e = defs.get(v)) {
      const f = index, view = e;
      index = (i) => viewIndex(view, f(i));
      v = e.inputs[0];
    }
    if (sizeOf(v.aval.shape) === 1) index = () => "0";
    return { base: v, index };
  };
  return { dropped, resolve };
}
