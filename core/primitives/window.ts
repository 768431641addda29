/**
 * Window primitives for pooling: `reduceWindow` (sum or max), and the pair that
 * differentiates max pooling: `selectAndGather` (tangent at each window's argmax) and
 * `selectAndScatterAdd` (its transpose: cotangent back to each window's argmax).
 * @module
 */
import type { Array } from "../array.ts";
import { fmt } from "../shape.ts";
import { moveBdim } from "./batching.ts";
import { dilate } from "./contract.ts";
import { bind1, full } from "./ops.ts";
import type { Window, WindowParams } from "./params.ts";
import { type FamilyRules, LinearIn, type Rule, Zero } from "./types.ts";

/** Output shape of a window op over `shape`. */
export function windowShape(op: string, shape: readonly number[], w: Window): number[] {
  const n = shape.length;
  if (w.window.length !== n || w.strides.length !== n || w.padding.length !== n) {
    throw new Error(
      `${op}: window ${fmt(w.window)}, strides ${fmt(w.strides)} and padding need one entry per axis of ${fmt(shape)}`,
    );
  }
  return shape.map((d, i) => {
    const padded = d + w.padding[i][0] + w.padding[i][1];
    if (w.window[i] < 1 || w.strides[i] < 1 || padded < w.window[i]) {
      throw new Error(`${op}: window ${fmt(w.window)} does not fit padded input ${fmt(shape)} (axis ${i})`);
    }
    return Math.floor((padded - w.window[i]) / w.strides[i]) + 1;
  });
}

const addBatchWindow = <W extends Window>(w: W): W => ({
  ...w,
  window: [1, ...w.window],
  strides: [1, ...w.strides],
  padding: [[0, 0], ...w.padding],
});

function sumTranspose(ct: Array, inShape: readonly number[], w: Window): Array {
  const before = w.window.map((k, i) => k - w.padding[i][0] - 1);
  const after = inShape.map((n, i) => n + w.window[i] - 1 - dilate(ct.aval.shape[i], w.strides[i]) - before[i]);
  const padded = bind1("pad", [ct, full({ shape: [], dtype: ct.dtype }, 0)], {
    lo: before,
    hi: after,
    interior: w.strides.map((s) => s - 1),
  });
  return bind1("reduceWindow", [padded], {
    op: "sum",
    window: w.window,
    strides: w.window.map(() => 1),
    padding: w.window.map((): [number, number] => [0, 0]),
  });
}

function pairRule(name: "selectAndGather" | "selectAndScatterAdd"): Rule<Window> {
  // selectAndGather(x, t): out-shaped; selectAndScatterAdd(s, x): x-shaped. Linear in t / s.
  const xi = name === "selectAndGather" ? 0 : 1;
  const li = 1 - xi;
  const other = name === "selectAndGather" ? "selectAndScatterAdd" : "selectAndGather";
  return {
    abstractEval(avals, w) {
      const x = avals[xi];
      const lin = avals[li];
      const out = windowShape(name, x.shape, w);
      const want = name === "selectAndGather" ? x.shape : out;
      if (lin.dtype !== x.dtype || lin.shape.length !== want.length || lin.shape.some((d, i) => d !== want[i])) {
        throw new Error(`${name}: operand ${fmt(lin.shape)} does not match ${fmt(want)}`);
      }
      return [{ shape: name === "selectAndGather" ? out : x.shape, dtype: x.dtype }];
    },
    jvp(args, ts, w) {
      const y = bind1(name, args, w);
      const t = ts[li];
      if (t instanceof Zero) return [[y], [new Zero(y.aval)]];
      const targs = [...args];
      targs[li] = t;
      return [[y], [bind1(name, targs, w)]];
    },
    batch(args, dims, w, size) {
      const moved = args.map((a, i) => moveBdim(a, dims[i], 0, size));
      return [[bind1(name, moved, addBatchWindow(w))], [0]];
    },
    transpose([ct], args, w) {
      if (args[xi] instanceof LinearIn) throw new Error(`${name}: the selecting operand cannot be linear`);
      if (ct instanceof Zero) return [null, null];
      const x = args[xi] as Array;
      const res = other === "selectAndScatterAdd" ? bind1(other, [ct, x], w) : bind1(other, [x, ct], w);
      const out: (Array | null)[] = [null, null];
      out[li] = res;
      return out;
    },
  };
}

/** Rules of the window primitives. */
export const windowRules: FamilyRules<WindowParams> = {
  reduceWindow: {
    abstractEval([a], p) {
      if (p.op !== "sum" && p.op !== "max") throw new Error(`reduceWindow: op must be "sum" or "max", got ${p.op}`);
      return [{ shape: windowShape("reduceWindow", a.shape, p), dtype: a.dtype }];
    },
    jvp([x], [t], p) {
      const y = bind1("reduceWindow", [x], p);
      if (t instanceof Zero) return [[y], [new Zero(y.aval)]];
      const w: Window = { window: p.window, strides: p.strides, padding: p.padding };
      return [[y], [p.op === "sum" ? bind1("reduceWindow", [t], p) : bind1("selectAndGather", [x, t], w)]];
    },
    batch([x], [d], p, size) {
      return [[bind1("reduceWindow", [moveBdim(x, d, 0, size)], addBatchWindow(p))], [0]];
    },
    transpose([ct], [x], p) {
      if (p.op !== "sum") throw new Error("reduceWindow: only sum pooling is linear");
      return [ct instanceof Zero ? null : sumTranspose(ct, x.aval.shape, p)];
    },
  },
  selectAndGather: pairRule("selectAndGather"),
  selectAndScatterAdd: pairRule("selectAndScatterAdd"),
};
