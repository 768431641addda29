/**
 * Transforms of whole programs, used by the structured primitives (jitCall, scan,
 * customVjpCall): JVP, batching and transposition of a `Jaxpr`, each cached per program.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import type { ClosedJaxpr, Jaxpr } from "../ir.ts";
import { evalJaxpr } from "../eval.ts";
import { moveBdim } from "../primitives/batching.ts";
import { full } from "../primitives/ops.ts";
import { type Dim, type Tangent, Zero } from "../primitives/types.ts";
import { jvpFlat } from "./jvp.ts";
import { traceFlat } from "./staging.ts";
import { backwardPass } from "./transpose.ts";
import { vmapFlat } from "./vmap.ts";

const caches = new WeakMap<Jaxpr, Map<string, unknown>>();
function cached<T>(j: Jaxpr, key: string, make: () => T): T {
  let m = caches.get(j);
  if (!m) caches.set(j, m = new Map());
  if (!m.has(key)) m.set(key, make());
  return m.get(key) as T;
}

/** JVP of a program: inputs `[primals, nonzero tangents]`, outputs `[primals, nonzero tangents]`. */
export function jvpJaxpr(
  j: Jaxpr,
  nonzeros: readonly boolean[],
  instantiate: readonly boolean[] | null = null,
): { closed: ClosedJaxpr; nonzerosOut: boolean[] } {
  return cached(j, `jvp:${nonzeros.map(Number).join("")}:${instantiate?.map(Number).join("") ?? ""}`, () => {
    const n = j.inVars.length;
    let nonzerosOut: boolean[] = [];
    const tanAvals = j.inAvals.filter((_, i) => nonzeros[i]);
    const closed = traceFlat((...ins) => {
      let k = n;
      const tangents: Tangent[] = j.inAvals.map((a, i) => (nonzeros[i] ? ins[k++] : new Zero(a)));
      const [po, to] = jvpFlat((...xs) => evalJaxpr(j, xs), ins.slice(0, n), tangents);
      const tos = to.map((t, i) => (t instanceof Zero && instantiate?.[i] ? full(t.aval, 0) : t));
      nonzerosOut = tos.map((t) => !(t instanceof Zero));
      return [...po, ...(tos.filter((t) => !(t instanceof Zero)) as Array[])];
    }, [...j.inAvals, ...tanAvals]);
    return { closed, nonzerosOut };
  });
}

/** Inserts a batch axis of `size` at `d` into an aval. */
export function batchedAval(a: Aval, d: Dim, size: number): Aval {
  if (d === null) return a;
  const shape = [...a.shape];
  shape.splice(d, 0, size);
  return { shape, dtype: a.dtype };
}

/**
 * Batched program: inputs batched at `dims`, each output either batched at axis 0 or
 * unbatched (`outBatched`); outputs flagged in `force` are always batched.
 */
export function vmapJaxpr(
  j: Jaxpr,
  size: number,
  dims: readonly Dim[],
  force: readonly boolean[] | null = null,
): { closed: ClosedJaxpr; outBatched: boolean[] } {
  return cached(j, `vmap:${size}:${dims.join(",")}:${force?.map(Number).join("") ?? ""}`, () => {
    let outBatched: boolean[] = [];
    const closed = traceFlat((...ins) => {
      const [outs, odims] = vmapFlat((...xs) => evalJaxpr(j, xs), size, ins, [...dims]);
      outBatched = odims.map((d, i) => d !== null || !!force?.[i]);
      return outs.map((o, i) => (outBatched[i] ? moveBdim(o, odims[i], 0, size) : o));
    }, j.inAvals.map((a, i) => batchedAval(a, dims[i], size)));
    return { closed, outBatched };
  });
}

/**
 * Transposed program for inputs flagged `linear`: inputs `[non-linear inputs, output
 * cotangents]`, outputs the cotangents of the linear inputs (zeros where none flowed).
 */
export function transposeJaxpr(j: Jaxpr, linear: readonly boolean[]): ClosedJaxpr {
  return cached(j, `T:${linear.map(Number).join("")}`, () => {
    const nonlin = j.inAvals.filter((_, i) => !linear[i]);
    return traceFlat((...ins) => {
      let k = 0;
      const args = j.inVars.map((_, i) => (linear[i] ? null : ins[k++]));
      const cts = ins.slice(k);
      const res = backwardPass(j, linear, args, cts);
      return res.flatMap((c, i) => (linear[i] ? [c instanceof Zero || c === null ? full(j.inAvals[i], 0) : c] : []));
    }, [...nonlin, ...j.outAvals]);
  });
}
