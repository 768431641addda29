/**
 * The WebGPU kernel protocol: one function per primitive that records dispatches for
 * buffers already on the device and returns freshly referenced output buffers. The table
 * type demands an entry for every primitive that runs as a kernel (structural primitives
 * run through their rules on the executor's buffer model instead).
 * @module
 */
import type { Aval } from "../../array.ts";
import type { KernelName, Params } from "../../primitives/types.ts";
import type { Buf, Gpu } from "./device.ts";

/** A WebGPU kernel: records work into the pending encoder; outputs carry one reference each. */
export type GpuKernel<P> = (
  gpu: Gpu,
  ins: Buf[],
  inAvals: readonly Aval[],
  params: P,
  outAvals: readonly Aval[],
) => Buf[];

/** A complete WebGPU kernel table. */
export type GpuKernels = { [K in KernelName]: GpuKernel<Params[K]> };

/** Kernels of one family of primitives. */
export type GpuFamily<F> = { [K in keyof F]: GpuKernel<F[K]> };
