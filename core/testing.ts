/**
 * Numerical testing utilities: `allclose` and `checkGrads` (JVP and VJP against central
 * finite differences computed on the host in float64, like JAX's `check_grads`).
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

/** Values `allclose` compares: arrays, numbers, or (nested) lists/typed arrays of numbers. */
export type Numeric = Array | number | ArrayLike<number> | number[][] | number[][][];

async function values(x: Numeric): Promise<Float64Array> {
  if (typeof x === "number") return Float64Array.of(x);
  if (x && typeof x === "object" && "aval" in x) return Float64Array.from(await (x as Array).data());
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
async function compare(a: Numeric, b: Numeric, tol: Tolerance): Promise<{ ok: boolean; msg: string }> {
  const { atol = 1e-6, rtol = 1e-5, equalNan = false } = tol;
  const [x, y] = [await values(a), await values(b)];
  if (x.length !== y.length && y.length !== 1) return { ok: false, msg: `sizes differ: ${x.length} vs ${y.length}` };
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < x.length; i++) {
    const [u, v] = [x[i], y[y.length === 1 ? 0 : i]];
    if (Number.isNaN(u) || Number.isNaN(v)) {
      if (equalNan && Number.isNaN(u) && Number.isNaN(v)) continue;
      return { ok: false, msg: `NaN at ${i}: ${u} vs ${v}` };
    }
    if (u === v) continue;
    const err = Math.abs(u - v) - (atol + rtol * Math.abs(v));
    if (err > worstErr || (err > 0 && worst < 0)) [worst, worstErr] = [i, err];
  }
  if (worst < 0) return { ok: true, msg: "" };
  const i = worst;
  return {
    ok: false,
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
  /** Finite-difference step (default 1e-3). */
  eps?: number;
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
const dotHost = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

/**
 * Checks `f`'s derivatives (JVP and/or VJP) against central finite differences, up to `order`.
 * `f` takes arrays and returns one array. Throws with details on a mismatch.
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
  const { order = 1, modes = ["fwd", "rev"], eps = 1e-3, atol = 2e-2, rtol = 2e-2, seed = 1 } = opts;
  const rand = rng(seed);
  const xs = args.map((a) => toArray(a));
  const hx = await Promise.all(xs.map(hostOf));
  const dirs = hx.map((h) => h.map(() => rand()));
  const shifted = (s: number) => xs.map((x, i) => mk(hx[i].map((v, j) => v + s * eps * dirs[i][j]), x));
  const [fp, fm] = [await hostOf(toArray(f(...shifted(1)))), await hostOf(toArray(f(...shifted(-1))))];
  const numeric = fp.map((v, i) => (v - fm[i]) / (2 * eps));
  const tangents = xs.map((x, i) => mk(dirs[i], x));
  if (modes.includes("fwd")) {
    const [, t] = jvp(f, xs as never, tangents as never);
    await assertAllclose(toArray(t), numeric, { atol, rtol }, `jvp of ${f.name || "f"} vs finite differences`);
  }
  if (modes.includes("rev")) {
    const [y, pullback] = vjp(f, ...(xs as never[]));
    const ct = Float64Array.from({ length: toArray(y).size }, () => rand());
    const cts = pullback(mk(ct, toArray(y)) as never) as unknown as Array[];
    let lhs = 0;
    for (let i = 0; i < cts.length; i++) lhs += dotHost(await hostOf(cts[i]), Float64Array.from(dirs[i]));
    const rhs = dotHost(ct, numeric);
    await assertAllclose(lhs, rhs, { atol, rtol }, `vjp of ${f.name || "f"} vs finite differences (⟨ct, J·v⟩)`);
  }
  if (order > 1) {
    const sub = { ...opts, order: order - 1, seed: seed + 1 };
    if (modes.includes("fwd")) {
      const fj = (...p: Array[]) => toArray(jvp(f, p as never, tangents as never)[1]);
      await checkGrads(fj, xs, { ...sub, modes: ["fwd"] });
    }
    if (modes.includes("rev")) {
      const y = toArray(f(...xs));
      const ct = mk(Float64Array.from({ length: y.size }, () => rand()), y);
      const fv = (...p: Array[]) => {
        const [, pb] = vjp(f, ...(p as never[]));
        const g = pb(ct as never) as unknown as Array[];
        return g.reduce((acc: Array | null, gi, i) => {
          const term = gi.mul(tangents[i]).sum();
          return acc ? acc.add(term) : term;
        }, null)!;
      };
      await checkGrads(fv, xs, { ...sub, modes: ["rev"] });
    }
  }
}
