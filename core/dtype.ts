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

/** The dtype a plain JS number takes when it meets an array of dtype `other` (weak typing). */
export function weakDType(value: number | boolean, other: DType | null): DType {
  if (typeof value === "boolean") return other ?? "bool";
  const integral = Number.isInteger(value);
  if (other === null) return integral ? "int32" : "float32";
  if (other === "float32") return "float32";
  if (!integral) return "float32";
  return other === "bool" ? "int32" : other;
}
