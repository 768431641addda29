/**
 * The cpu kernel protocol: one function per primitive over host typed arrays. The table
 * type demands an entry for every primitive that runs as a kernel (structural primitives
 * run through their rules on the executor's buffer model instead).
 * @module
 */
import type { Aval } from "../../array.ts";
import type { TypedArray } from "../../dtype.ts";
import type { KernelName, Params } from "../../primitives/types.ts";

/** A cpu kernel: inputs (row-major typed arrays) to freshly allocated outputs. */
export type Kernel<P> = (
  ins: TypedArray[],
  inAvals: readonly Aval[],
  params: P,
  outAvals: readonly Aval[],
) => TypedArray[];

/** A complete cpu kernel table. */
export type CpuKernels = { [K in KernelName]: Kernel<Params[K]> };

/** Kernels of one family of primitives. */
export type FamilyKernels<F> = { [K in keyof F]: Kernel<F[K]> };
