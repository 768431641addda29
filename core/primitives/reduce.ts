/**
 * Reductions: sum, max, min, prod over axes; argmax/argmin; cumulative sum.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import { isFloat } from "../dtype.ts";
import { fmt, range } from "../shape.ts";
import { shiftAxis } from "./batching.ts";
import { add, bind1, broadcastInDim, convert, div, mul, reduceSum, reshape, transpose } from "./ops.ts";
import type { ReduceParams } from "./params.ts";
import { type FamilyRules, type Rule, Zero } from "./types.ts";

function checkAxes(op: string, a: Aval, axes: readonly number[]) {
  for (const ax of axes) {
    if (!Number.isInteger(ax) || ax < 0 || ax >= a.shape.length) {
      throw new RangeError(`${op}: axis ${ax} out of range for shape ${fmt(a.shape)}`);
    }
  }
}
const reducedAval = (a: Aval, axes: readonly number[]): Aval => ({
  shape: a.shape.filter((_, i) => !axes.includes(i)),
  dtype: a.dtype,
});
/** Broadcasts a reduced value back over the reduced axes. */
export function unreduce(y: Array, inShape: readonly number[], axes: readonly number[]): Array {
  return broadcastInDim(y, inShape, range(inShape.length).filter((i) => !axes.includes(i)));
}

function batchReduce<K extends "reduceSum" | "reduceMax" | "reduceMin" | "reduceProd">(name: K) {
  return ([x]: Array[], [d]: (number | null)[], { axes }: { axes: number[] }): [Array[], (number | null)[]] => {
    const bd = d as number;
    const newAxes = axes.map((a) => shiftAxis(a, bd));
    return [[bind1(name, [x], { axes: newAxes })], [bd - newAxes.filter((a) => a < bd).length]];
  };
}

function extremum(name: "reduceMax" | "reduceMin"): Rule<{ axes: number[] }> {
  return {
    abstractEval([a], { axes }) {
      checkAxes(name, a, axes);
      if (axes.some((ax) => a.shape[ax] === 0)) {
        throw new Error(`${name}: reduction over an empty axis of ${fmt(a.shape)}`);
      }
      return [reducedAval(a, axes)];
    },
    jvp([x], [t], { axes }) {
      const y = bind1(name, [x], { axes });
      if (!isFloat(x.dtype) || t instanceof Zero) return [[y], [new Zero(y.aval)]];
      // Ties share the tangent evenly, like JAX.
      const mask = convert(bind1("eq", [x, unreduce(y, x.aval.shape, axes)], {}), x.dtype);
      const tOut = div(reduceSum(mul(t, mask), axes), reduceSum(mask, axes));
      return [[y], [tOut]];
    },
    batch: batchReduce(name),
  };
}

/** Product and its tangent by a pairwise tree over the last axis (exact with zeros). */
function prodTree(x: Array, t: Array): [Array, Array] {
  const n = x.aval.shape[x.ndim - 1];
  if (n === 1) return [x, t];
  const h = Math.floor(n / 2);
  const cut = (v: Array, lo: number, hi: number) => {
    const start = v.aval.shape.map(() => 0);
    const limit = [...v.aval.shape];
    start[v.ndim - 1] = lo;
    limit[v.ndim - 1] = hi;
    return bind1("slice", [v], { start, limit, strides: start.map(() => 1) });
  };
  const [pa, ta] = prodTree(cut(x, 0, h), cut(t, 0, h));
  const [pb, tb] = prodTree(cut(x, h, n), cut(t, h, n));
  return [mul(pa, pb), add(mul(ta, pb), mul(pa, tb))];
}

function argRule(name: "argmax" | "argmin"): Rule<{ axis: number }> {
  return {
    abstractEval([a], { axis }) {
      checkAxes(name, a, [axis]);
      if (a.shape[axis] === 0) throw new Error(`${name}: empty axis ${axis} of ${fmt(a.shape)}`);
      return [{ shape: a.shape.filter((_, i) => i !== axis), dtype: "int32" }];
    },
    jvp([x], _t, p) {
      const y = bind1(name, [x], p);
      return [[y], [new Zero(y.aval)]];
    },
    batch([x], [d], { axis }) {
      const bd = d as number;
      const ax = shiftAxis(axis, bd);
      return [[bind1(name, [x], { axis: ax })], [ax < bd ? bd - 1 : bd]];
    },
  };
}

/** Rules of the reductions. */
export const reduceRules: FamilyRules<ReduceParams> = {
  reduceSum: {
    abstractEval([a], { axes }) {
      checkAxes("reduceSum", a, axes);
      return [reducedAval(a, axes)];
    },
    jvp([x], [t], p) {
      return [[reduceSum(x, p.axes)], [
        t instanceof Zero ? new Zero(reducedAval(x.aval, p.axes)) : reduceSum(t, p.axes),
      ]];
    },
    batch: batchReduce("reduceSum"),
    transpose([ct], [x], { axes }) {
      return [ct instanceof Zero ? null : unreduce(ct, x.aval.shape, axes)];
    },
  },
  reduceMax: extremum("reduceMax"),
  reduceMin: extremum("reduceMin"),
  reduceProd: {
    abstractEval([a], { axes }) {
      checkAxes("reduceProd", a, axes);
      return [reducedAval(a, axes)];
    },
    jvp([x], [t], { axes }) {
      const y = bind1("reduceProd", [x], { axes });
      if (axes.length === 0) return [[y], [t]];
      if (!isFloat(x.dtype) || t instanceof Zero) return [[y], [new Zero(y.aval)]];
      const keep = range(x.ndim).filter((i) => !axes.includes(i));
      const flat = (v: Array) =>
        reshape(transpose(v, [...keep, ...axes]), [...y.aval.shape, axes.reduce((n, a) => n * x.aval.shape[a], 1)]);
      if (flat(x).aval.shape[y.ndim] === 0) return [[y], [new Zero(y.aval)]];
      const [, tp] = prodTree(flat(x), flat(t));
      return [[y], [reshape(tp, y.aval.shape)]];
    },
    batch: batchReduce("reduceProd"),
  },
  argmax: argRule("argmax"),
  argmin: argRule("argmin"),
  cumsum: {
    abstractEval([a], { axis }) {
      checkAxes("cumsum", a, [axis]);
      if (a.dtype === "bool") throw new TypeError("cumsum: bool input; cast to int32 or float32 first");
      return [a];
    },
    jvp([x], [t], p) {
      const y = bind1("cumsum", [x], p);
      return [[y], [t instanceof Zero ? t : bind1("cumsum", [t], p)]];
    },
    batch([x], [d], { axis, reverse }) {
      return [[bind1("cumsum", [x], { axis: shiftAxis(axis, d as number), reverse })], [d]];
    },
    transpose([ct], _args, { axis, reverse }) {
      return [ct instanceof Zero ? null : bind1("cumsum", [ct], { axis, reverse: !reverse })];
    },
  },
};
