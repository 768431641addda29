/**
 * Numerical testing utilities: `allclose` and `checkGrads` (JVP and VJP against central
 * finite differences combined on the host in float64, like JAX's `check_grads`).
 * @module
 */
import type { Array } from "./array.ts";
import { fromHost, toArray } from "./backend/backend.ts";
import { jvp } from "./transforms/jvp.ts";
import { vjp } from "./transforms/ad.ts";

/** Tolerances. */
export interface Tolerance {
  /** Absolute tolerance. */
  atol?: number;
  /** Relative tolerance (of `b`). */
  rtol?: number;
  /** Treat NaNs in the same places as equal (default false). */
  equalNan?: boolean;
}

/** A list of numbers nested to any depth. */
export type NestedNumbers = readonly (number | NestedNumbers)[];

/** Values `allclose` compares: arrays, numbers, or (nested) lists/typed arrays of numbers. */
export type Numeric = Array | number | ArrayLike<number> | NestedNumbers;

async function values(x: Numeric): Promise<Float64Array> {
  if (typeof x === "number") return Float64Array.of(x);
  if (x && typeof x === "object" && "aval" in x) return Float64Array.from(await x.data());
  const flat: number[] = [];
  const walk = (
    v: unknown,
  ) => (globalThis.Array.isArray(v) || ArrayBuffer.isView(v)
    ? Array_from(v as ArrayLike<unknown>).forEach(walk)
    : flat.push(Number(v)));
  walk(x);
  return Float64Array.from(flat);
}
const Array_from = (v: ArrayLike<unknown>) => globalThis.Array.from(v);

/** Largest violation of `|a - b| <= atol + rtol*|b|` and where (for messages). */
async function compare(
  a: Numeric,
  b: Numeric,
  tol: Tolerance,
): Promise<{ ok: boolean; msg: string; index: number }> {
  const { atol = 1e-6, rtol = 1e-5, equalNan = false } = tol;
  const [x, y] = [await values(a), await values(b)];
  if (x.length !== y.length && y.length !== 1) {
    return { ok: false, msg: `sizes differ: ${x.length} vs ${y.length}`, index: 0 };
  }
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < x.length; i++) {
    const [u, v] = [x[i], y[y.length === 1 ? 0 : i]];
    if (Number.isNaN(u) || Number.isNaN(v)) {
      if (equalNan && Number.isNaN(u) && Number.isNaN(v)) continue;
      return { ok: false, msg: `NaN at ${i}: ${u} vs ${v}`, index: i };
    }
    if (u === v) continue;
    const err = Math.abs(u - v) - (atol + rtol * Math.abs(v));
    if (err > worstErr || (err > 0 && worst < 0)) [worst, worstErr] = [i, err];
  }
  if (worst < 0) return { ok: true, msg: "", index: -1 };
  const i = worst;
  return {
    ok: false,
    index: i,
    msg: `element ${i}: ${x[i]} vs ${y[y.length === 1 ? 0 : i]} (|diff| ${
      Math.abs(x[i] - y[y.length === 1 ? 0 : i]).toExponential(3)
    } > atol ${atol} + rtol ${rtol}·|b|)`,
  };
}

/**
 * True when `a` and `b` agree elementwise within `atol + rtol * |b|`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { allclose, np } from "@wax/wax";
 * assert(await allclose(np.array([1, 2]), [1, 2.0000001]));
 * ```
 */
export async function allclose(a: Numeric, b: Numeric, tol: Tolerance = {}): Promise<boolean> {
  return (await compare(a, b, tol)).ok;
}

/** Throws with the worst mismatch unless `a` and `b` are close. */
export async function assertAllclose(a: Numeric, b: Numeric, tol: Tolerance = {}, what = "values"): Promise<void> {
  const r = await compare(a, b, tol);
  if (!r.ok) throw new Error(`assertAllclose: ${what} differ at ${r.msg}`);
}

/** Options of `checkGrads`. */
export interface CheckGradsOptions extends Tolerance {
  /** Derivative order to check (default 1). */
  order?: number;
  /** Which modes (default both). */
  modes?: ("fwd" | "rev")[];
  /**
   * Smallest finite-difference step, relative to each input's scale `max(1, rms(x))`
   * (default 2⁻⁸, rounded to a power of two); the stencils also use 2, 4 and 8 times it.
   */
  eps?: number;
  /**
   * Tolerance of the exact check ⟨ct, J·v⟩ = ⟨Jᵀ·ct, v⟩ between the JVP and the VJP, relative
   * to the sum of the magnitudes of its terms (default 1e-5).
   */
  vjpTol?: number;
  /** Seed of the random directions. */
  seed?: number;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

async function hostOf(x: Array): Promise<Float64Array> {
  return Float64Array.from(await x.data());
}
const mk = (data: ArrayLike<number>, like: Array) => fromHost(Float32Array.from(data), like.aval);
function dotHost(a: ArrayLike<number>, b: ArrayLike<number>, abs = false): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += abs ? Math.abs(a[i] * b[i]) : a[i] * b[i];
  return s;
}
/** A power of two no smaller than the float32 spacing of numbers of magnitude up to `m`. */
const quantum = (m: number) => 2 ** Math.max(-149, Math.floor(Math.log2(Math.max(m, 2 ** -126))) - 22);

/**
 * Moves `x` and a random direction onto a grid such that every stencil point `x + k·h·v`,
 * |k| ≤ 8, is exactly a float32 (`x` moves by at most a float32 spacing of the farthest point):
 * the finite differences then see exactly the step they divide by, and what is left is `f`'s
 * own rounding.
 */
function stencilFrame(hx: Float64Array, h: number, rand: () => number): { x: Float64Array; v: Float64Array } {
  const scale = Math.max(1, Math.sqrt(dotHost(hx, hx) / Math.max(1, hx.length)));
  const x = new Float64Array(hx.length);
  const v = new Float64Array(hx.length);
  for (let j = 0; j < hx.length; j++) {
    const d = h * scale * rand();
    const q = quantum(Math.abs(hx[j]) + 8 * Math.abs(d));
    x[j] = Math.round(hx[j] / q) * q;
    v[j] = (Math.round(d / q) * q) / h;
  }
  return { x, v };
}

/**
 * The derivative at 0 of each output of `g(t)` from its values at t = ±h, ±2h, ±4h, ±8h:
 * 4-point central stencils at steps h, 2h and 4h; per element the one at 2h where it agrees
 * with the one at 4h better than the one at h does (rounding dominates), else the one at h
 * (truncation or a nearby kink dominates). `err` estimates each element's error.
 */
function stencil(at: Map<number, Float64Array>, h: number): { d: Float64Array; err: Float64Array } {
  const four = (k: number) => {
    const [p1, m1, p2, m2] = [at.get(k)!, at.get(-k)!, at.get(2 * k)!, at.get(-2 * k)!];
    return p1.map((p, i) => (8 * (p - m1[i]) - (p2[i] - m2[i])) / (12 * k * h));
  };
  const [d1, d2, d4] = [four(1), four(2), four(4)];
  const d = new Float64Array(d1.length);
  const err = new Float64Array(d1.length);
  for (let i = 0; i < d.length; i++) {
    const [e1, e2] = [Math.abs(d1[i] - d2[i]), Math.abs(d2[i] - d4[i])];
    [d[i], err[i]] = e2 < e1 ? [d2[i], e2] : [d1[i], e1];
  }
  return { d, err };
}

/**
 * Checks `f`'s derivatives (JVP and/or VJP) against finite differences, up to `order`, and
 * throws with the worst mismatch. `f` takes float32 arrays and returns one array.
 *
 * The JVP along a random direction `v` is compared per output element with 4-point central
 * differences along `v`, within `atol + rtol·|fd|` (default 2e-3 each, JAX's float32 gradient
 * tolerance: a derivative rule 1 % off fails). The inputs are moved by about a float32 spacing
 * so that every stencil point is exact, and the step grows with each input's scale.
 * The VJP of a random cotangent `ct` is compared exactly with the JVP through
 * ⟨ct, J·v⟩ = ⟨Jᵀ·ct, v⟩ (`vjpTol`), or with the finite differences when only `"rev"` is checked.
 *
 * @example
 * ```ts
 * import { checkGrads, np, type Array } from "@wax/wax";
 * await checkGrads((x: Array) => np.sin(x).mul(x), [np.array([0.3, -1.2])], { order: 2 });
 * ```
 */
export async function checkGrads(
  f: (...args: Array[]) => Array,
  args: Array[],
  opts: CheckGradsOptions = {},
): Promise<void> {
  const { order = 1, modes = ["fwd", "rev"], eps = 2 ** -8, atol = 2e-3, rtol = 2e-3, vjpTol = 1e-5, seed = 1 } = opts;
  const name = f.name || "f";
  const rand = rng(seed);
  const h = 2 ** Math.round(Math.log2(eps));
  const given = args.map((a) => toArray(a));
  given.forEach((x, i) => {
    if (x.dtype !== "float32") {
      throw new TypeError(`checkGrads: argument ${i} is ${x.dtype}; pass float32 arrays (close over the others)`);
    }
  });
  const frames = (await Promise.all(given.map(hostOf))).map((hx) => stencilFrame(hx, h, rand));
  const xs = given.map((x, i) => mk(frames[i].x, x));
  const tangents = xs.map((x, i) => mk(frames[i].v, x));
  const at = new Map<number, Float64Array>();
  for (const k of [1, 2, 4, 8, -1, -2, -4, -8]) {
    const moved = xs.map((x, i) => mk(frames[i].x.map((p, j) => p + k * h * frames[i].v[j]), x));
    at.set(k, await hostOf(toArray(f(...moved))));
  }
  const { d: numeric, err } = stencil(at, h);
  const fdNote = (i: number) => (i in err ? ` (finite-difference error estimate ${err[i].toExponential(2)})` : "");
  let jv: Float64Array | null = null;
  if (modes.includes("fwd")) {
    const [, t] = jvp(f, xs, tangents);
    jv = await hostOf(toArray(t));
    const r = await compare(jv, numeric, { atol, rtol });
    if (!r.ok) {
      throw new Error(`checkGrads: jvp of ${name} vs finite differences differ at ${r.msg}${fdNote(r.index)}`);
    }
  }
  if (modes.includes("rev")) {
    const [y, pullback] = vjp(f, ...xs);
    const ct = Float64Array.from({ length: y.size }, () => rand());
    const cts = pullback(mk(ct, y));
    const gs = await Promise.all(cts.map(hostOf));
    const lhs = gs.reduce((s, gi, i) => s + dotHost(gi, frames[i].v), 0);
    if (jv) {
      const rhs = dotHost(ct, jv);
      const size = gs.reduce((s, gi, i) => s + dotHost(gi, frames[i].v, true), dotHost(ct, jv, true));
      if (!(Math.abs(lhs - rhs) <= vjpTol * size)) {
        throw new Error(
          `checkGrads: vjp of ${name} disagrees with its jvp: ⟨Jᵀ·ct, v⟩ = ${lhs} but ⟨ct, J·v⟩ = ${rhs} ` +
            `(|diff| ${Math.abs(lhs - rhs).toExponential(3)} > ${vjpTol} × ${size.toExponential(3)}); ` +
            `a transpose rule is inconsistent with its jvp rule`,
        );
      }
    } else {
      const rhs = dotHost(ct, numeric);
      await assertAllclose(lhs, rhs, { atol, rtol }, `checkGrads: vjp of ${name} vs finite differences (⟨ct, J·v⟩)`);
    }
  }
  if (order > 1) {
    const sub = { ...opts, order: order - 1, seed: seed + 1 };
    if (modes.includes("fwd")) {
      const fj = (...p: Array[]) => jvp(f, p, tangents)[1];
      await checkGrads(fj, xs, { ...sub, modes: ["fwd"] });
    }
    if (modes.includes("rev")) {
      const y = toArray(f(...xs));
      const ct = mk(Float64Array.from({ length: y.size }, () => rand()), y);
      const fv = (...p: Array[]) => {
        const [, pb] = vjp(f, ...p);
        const g = pb(ct);
        return g.reduce((acc: Array | null, gi, i) => {
          const term = gi.mul(tangents[i]).sum();
          return acc ? acc.add(term) : term;
        }, null)!;
      };
      await checkGrads(fv, xs, { ...sub, modes: ["rev"] });
    }
  }
}
