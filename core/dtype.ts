/**
 * Data types and JAX-style promotion with 32-bit defaults.
 * @module
 */

/** The element types wax arrays can hold. */
export type DType = "float32" | "int32" | "uint32" | "bool";

/** A typed array of one of wax's storage types. */
export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array;

/** All dtypes, in promotion order (bool < uint32 < int32 < float32). */
export const DTYPES: readonly DType[] = ["bool", "uint32", "int32", "float32"];

/** True for dtypes that carry tangents. */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32";
}

/** Allocates zero-filled storage for `size` elements of `dtype`. */
export function allocTyped(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint32":
      return new Uint32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/** Bytes per element of `dtype` in storage. */
export function itemSize(dtype: DType): number {
  return dtype === "bool" ? 1 : 4;
}

/** Checks `x` names a dtype, with an error that lists the valid ones. */
export function checkDType(x: unknown, where: string): DType {
  if (typeof x === "string" && (DTYPES as string[]).includes(x)) return x as DType;
  throw new TypeError(`${where}: unknown dtype ${JSON.stringify(x)}; use one of ${DTYPES.join(", ")}`);
}

/**
 * The dtype two operands promote to, like JAX with 32-bit defaults:
 * bool < uint32 < int32 < float32 (uint32 with int32 gives int32, as wax has no int64).
 */
export function promote(a: DType, b: DType): DType {
  return DTYPES.indexOf(a) >= DTYPES.indexOf(b) ? a : b;
}

/** The range of values an integer dtype holds, or `null` for float32 and bool. */
export function intRange(dtype: DType): [number, number] | null {
  if (dtype === "int32") return [-(2 ** 31), 2 ** 31 - 1];
  if (dtype === "uint32") return [0, 2 ** 32 - 1];
  return null;
}

/**
 * Throws when a plain number does not fit the integer dtype it is about to take (JAX raises
 * `OverflowError` for a Python int out of range of an int32 array instead of wrapping around).
 * `hint` says how to fix it.
 */
export function checkIntRange(
  op: string,
  value: number,
  dtype: DType,
  hint = 'use dtype "float32" or a value in range',
): void {
  const r = intRange(dtype);
  if (!r || !Number.isInteger(value) || (value >= r[0] && value <= r[1])) return;
  throw new RangeError(
    `${op}: the number ${value} does not fit ${dtype} (${r[0]}..${r[1]}) and would wrap around; ${hint}`,
  );
}

/**
 * The dtype a plain JS number takes when it meets an array of dtype `other` (weak typing, as a
 * Python scalar in JAX): float32 beside float32 or for a non-integral number, else `other`'s
 * integer dtype (int32 beside bool, int32 alone). An integral number outside that integer
 * dtype's range is an error naming `op`, not a silent wrap-around.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { weakDType } from "./dtype.ts";
 * assert.equal(weakDType(2.5, "int32"), "float32");
 * assert.equal(weakDType(3, "uint32"), "uint32");
 * assert.throws(() => weakDType(3e9, "int32", "add"), /add: the number 3000000000 does not fit int32/);
 * ```
 */
export function weakDType(value: number | boolean, other: DType | null, op = "promote"): DType {
  if (typeof value === "boolean") return other ?? "bool";
  const integral = Number.isInteger(value);
  // Alone, an integral number is int32 unless it does not fit (JS has one number type: 1e10 is meant as a float).
  if (other === null) return integral && Math.abs(value) <= 2 ** 31 - 1 ? "int32" : "float32";
  const dt = other === "float32" || !integral ? "float32" : other === "bool" ? "int32" : other;
  checkIntRange(
    op,
    value,
    dt,
    `a plain integer beside ${other === "bool" ? "a bool" : `an ${other}`} array takes its dtype (as in JAX): ` +
      `convert the array first (x.astype("float32")) or pass np.array(${value}, { dtype: "float32" })`,
  );
  return dt;
}
