/**
 * The types of `x.at(...)` indexing, generic over the array type (`core/array.ts` fills it in
 * with its `Array`; kept apart so the array module imports no indexing code).
 * @module
 */

/**
 * A slice `start:stop:step` of one axis, as in Python: each part optional, negative
 * `start`/`stop` count from the end, out-of-range bounds are clipped, `step` may be negative.
 */
export interface Slice {
  /** First index (default: the first element in the direction of `step`). */
  start?: number | null;
  /** Index to stop before (default: past the last element in the direction of `step`). */
  stop?: number | null;
  /** Stride, not 0 (default 1). */
  step?: number | null;
}

/** A nested list of integer indices (an index array written in JS). */
export type IndexList = readonly (number | IndexList)[];

/**
 * One entry of `x.at(...)`: an integer (negative counts from the end), a slice (`{ start,
 * stop, step }` or the string `"start:stop:step"`, e.g. `":"`, `"1:-1"`, `"::2"`, `"::-1"`),
 * `null` (a new axis of length 1), `"..."` (as many `":"` as needed), or an integer array of
 * indices (an int32 array `A`, traced ones included, or a nested list of numbers).
 */
export type IndexOf<A> = number | string | null | Slice | A | IndexList;

/**
 * An indexed place in an array, `x.at(...)` (JAX's `x.at[...]`): read it with `get()` or make
 * a copy of `x` with it updated. Updates broadcast `v` to the indexed shape; with index arrays,
 * repeated indices all apply for `add`/`mul`/`min`/`max` and the last one wins for `set`, and
 * out-of-range traced indices are dropped (`get` clamps them).
 */
export interface AtOf<A> {
  /** The indexed values (`x[idx]`). */
  get(): A;
  /** `x` with the indexed values replaced by `v` (`x[idx] = v` on a copy). */
  set(v: A | number): A;
  /** `x` with `v` added at the index (`x[idx] += v` on a copy). */
  add(v: A | number): A;
  /** `x` with the indexed values multiplied by `v`. */
  mul(v: A | number): A;
  /** `x` with the indexed values replaced by their minimum with `v`. */
  min(v: A | number): A;
  /** `x` with the indexed values replaced by their maximum with `v`. */
  max(v: A | number): A;
}
