/**
 * Helpers shared by batching rules: moving and materialising batch dimensions.
 * @module
 */
import type { Array } from "../array.ts";
import { broadcastInDim, moveAxis } from "./ops.ts";
import type { Dim } from "./types.ts";
import { range } from "../shape.ts";

/** Puts the batch dimension of `x` (or a broadcast one, if unbatched) at axis `to`. */
export function moveBdim(x: Array, d: Dim, to: number, size: number): Array {
  if (d === null) {
    const shape = [...x.aval.shape];
    shape.splice(to, 0, size);
    const dims = range(x.ndim).map((i) => (i < to ? i : i + 1));
    return broadcastInDim(x, shape, dims);
  }
  return moveAxis(x, d, to);
}

/** Batching for primitives that act elementwise: align batch dims, then apply as is. */
export function batchElementwise(
  apply: (args: Array[]) => Array[],
): (args: Array[], dims: Dim[], params: unknown, size: number) => [Array[], Dim[]] {
  return (args, dims, _params, size) => {
    const first = dims.find((d) => d !== null) as number;
    const rankOf = (i: number) => args[i].ndim - (dims[i] === null ? 0 : 1);
    const same = dims.every((d, i) => d === first && rankOf(i) === rankOf(0));
    const moved = same ? args : args.map((x, i) => moveBdim(x, dims[i], 0, size));
    const outs = apply(moved);
    return [outs, outs.map(() => (same ? first : 0))];
  };
}

/** The axis of an unbatched array that sits at `axis` once a batch dim `d` is present. */
export function shiftAxis(axis: number, d: number): number {
  return axis < d ? axis : axis + 1;
}
