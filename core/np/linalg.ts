/**
 * Linear algebra: `matmul` (batch broadcasting), `dot`, `outer`, `inner`, `einsum`.
 * @module
 */
import type { Array } from "../array.ts";
import { broadcastShapes, fmt, range } from "../shape.ts";
import { bind1, reduceSum, reshape, transpose } from "../primitives/ops.ts";
import { type ArrayLike, broadcastTo, promoteArgs } from "./util.ts";
import { multiply } from "./math.ts";

const dotG = (a: Array, b: Array, contract: [number[], number[]], batch: [number[], number[]] = [[], []]) =>
  bind1("dotGeneral", [a, b], { contract, batch });

/**
 * Matrix product with numpy semantics: 1-D operands are vectors; leading axes broadcast.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const c = np.matmul(np.ones([5, 2, 3]), np.ones([3, 4]));
 * assert(JSON.stringify(c.shape) === "[5,2,4]");
 * ```
 */
export function matmul(x: ArrayLike, y: ArrayLike): Array {
  let [a, b] = promoteArgs(x, y);
  const [sa, sb] = [a.aval.shape, b.aval.shape];
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: operands must be at least 1-D, got ${fmt(a.aval.shape)} @ ${fmt(b.aval.shape)}`);
  }
  const va = a.ndim === 1;
  const vb = b.ndim === 1;
  if (va) a = reshape(a, [1, a.aval.shape[0]]);
  if (vb) b = reshape(b, [b.aval.shape[0], 1]);
  const [m, k] = a.aval.shape.slice(-2);
  const [k2, n] = b.aval.shape.slice(-2);
  if (k !== k2) throw new Error(`matmul: contracting dimensions differ: ${fmt(sa)} @ ${fmt(sb)} (${k} vs ${k2})`);
  let out: Array;
  if (b.ndim === 2) out = dotG(a, b, [[a.ndim - 1], [0]]);
  else {
    const batch = broadcastShapes("matmul", a.aval.shape.slice(0, -2), b.aval.shape.slice(0, -2));
    a = broadcastTo(a, [...batch, m, k], "matmul");
    b = broadcastTo(b, [...batch, k, n], "matmul");
    const bd = range(batch.length);
    out = dotG(a, b, [[bd.length + 1], [bd.length]], [bd, bd]);
  }
  const s = out.aval.shape;
  if (va && vb) return reshape(out, s.slice(0, -2));
  if (va) return reshape(out, [...s.slice(0, -2), n]);
  if (vb) return reshape(out, [...s.slice(0, -2), m]);
  return out;
}

/** numpy `dot`: inner product of vectors, matrix product for 2-D, last-by-second-last in general. */
export function dot(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs(x, y);
  if (a.ndim === 0 || b.ndim === 0) return multiply(a, b);
  if (b.ndim <= 2) return matmul(a, b);
  return dotG(a, b, [[a.ndim - 1], [b.ndim - 2]]);
}
/** Inner product over the last axes. */
export function inner(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs(x, y);
  return dotG(a, b, [[a.ndim - 1], [b.ndim - 1]]);
}
/** Outer product of two vectors (flattened). */
export function outer(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs(x, y);
  return dotG(reshape(a, [a.size]), reshape(b, [b.size]), [[], []]);
}

/**
 * Einstein summation for one or two operands, e.g. `"ij,jk->ik"`, `"bij,bjk->bik"`, `"ii->"` is not supported (no repeated labels within an operand).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * const c = np.einsum("ij,jk->ik", np.ones([2, 3]), np.ones([3, 4]));
 * assert(JSON.stringify(c.shape) === "[2,4]");
 * ```
 */
export function einsum(spec: string, ...operands: ArrayLike[]): Array {
  const s = spec.replace(/\s/g, "");
  const [lhs, rhsSpec] = s.includes("->") ? s.split("->") : [s, null];
  const ins = lhs.split(",");
  if (ins.length !== operands.length || ins.length < 1 || ins.length > 2) {
    throw new Error(`einsum: "${spec}" names ${ins.length} operands, got ${operands.length}; one or two are supported`);
  }
  const arrs = promoteArgs(...operands);
  ins.forEach((lab, i) => {
    if (lab.length !== arrs[i].ndim) {
      throw new Error(`einsum: "${lab}" has ${lab.length} labels for operand of shape ${fmt(arrs[i].aval.shape)}`);
    }
    if (new Set(lab).size !== lab.length) {
      throw new Error(`einsum: repeated label in "${lab}" (diagonals) is not supported`);
    }
  });
  const counts = new Map<string, number>();
  for (const c of ins.join("")) counts.set(c, (counts.get(c) ?? 0) + 1);
  const out = rhsSpec ?? [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join("");
  // Sum away labels that appear in one operand only and not in the output.
  const labels = ins.map((lab, i) => {
    const drop = [...lab].map((c, j) => (!out.includes(c) && !(ins.length === 2 && ins[1 - i].includes(c)) ? j : -1))
      .filter((j) => j >= 0);
    arrs[i] = reduceSum(arrs[i], drop);
    return [...lab].filter((_, j) => !drop.includes(j)).join("");
  });
  let res: Array;
  let resLabels: string;
  if (labels.length === 1) {
    res = arrs[0];
    resLabels = labels[0];
  } else {
    const [la, lb] = labels;
    const shared = [...la].filter((c) => lb.includes(c));
    const batch = shared.filter((c) => out.includes(c));
    const contract = shared.filter((c) => !out.includes(c));
    const idx = (l: string, cs: string[]) => cs.map((c) => l.indexOf(c));
    res = dotG(arrs[0], arrs[1], [idx(la, contract), idx(lb, contract)], [idx(la, batch), idx(lb, batch)]);
    resLabels = [...batch, ...[...la].filter((c) => !shared.includes(c)), ...[...lb].filter((c) => !shared.includes(c))]
      .join("");
  }
  for (const c of out) {
    if (!resLabels.includes(c)) throw new Error(`einsum: output label "${c}" does not appear in the inputs`);
  }
  return transpose(res, [...out].map((c) => resLabels.indexOf(c)));
}
