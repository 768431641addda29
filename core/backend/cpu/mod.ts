/**
 * The cpu backend: host typed arrays, one kernel per primitive, programs run by the
 * executor. Kernels are a replaceable table (generated elementwise loops, reference loops and
 * the GEMM core); structural primitives run on the buffer model (executor.ts).
 * @module
 */
import type { Array, Aval } from "../../array.ts";
import type { TypedArray } from "../../dtype.ts";
import type { KernelName, Params } from "../../primitives/types.ts";
import { type Backend, registerBackend, wrap } from "../backend.ts";
import { copyIfAliased, cpuBuffers } from "./executor.ts";
import type { CpuKernels, Kernel } from "./kernel_types.ts";
import { contractKernels } from "./kernels/contract.ts";
import { elementwiseKernels } from "./kernels/elementwise.ts";
import { indexingKernels } from "./kernels/indexing.ts";
import { movementKernels } from "./kernels/movement.ts";
import { randomKernels } from "./kernels/random.ts";
import { reduceKernels } from "./kernels/reduce.ts";
import { windowKernels } from "./kernels/window.ts";
import { allocationError, poolable, release } from "./pool.ts";

const kernels: CpuKernels = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...movementKernels,
  ...indexingKernels,
  ...contractKernels,
  ...windowKernels,
  ...randomKernels,
};

class CpuBackend implements Backend {
  readonly name = "cpu" as const;
  readonly buffers = cpuBuffers(kernels);
  fromHost(data: TypedArray, _aval: Aval, owned = false): unknown {
    return owned ? data : data.slice();
  }
  read(handle: unknown): Promise<TypedArray> {
    return Promise.resolve((handle as TypedArray).slice());
  }
  peek(handle: unknown): TypedArray {
    return handle as TypedArray;
  }
  release(handle: unknown): void {
    release(handle as TypedArray);
  }
  reuses(handle: unknown): boolean {
    return poolable(handle as TypedArray);
  }
  execute<K extends KernelName>(prim: K, args: Array[], params: Params[K], outAvals: Aval[]): Array[] {
    const kernel = kernels[prim] as Kernel<Params[K]>;
    const inAvals = args.map((a) => a.aval);
    return this.operation(prim, args, outAvals, (ins) => {
      const typed = ins as TypedArray[];
      return copyIfAliased(kernel(typed, inAvals, params, outAvals), typed);
    });
  }
  operation(op: string, args: Array[], outAvals: Aval[], body: (ins: unknown[]) => unknown[]): Array[] {
    const ins = args.map((a) => a.buffer(op).handle);
    let outs: unknown[];
    try {
      outs = body(ins);
    } catch (e) {
      throw allocationError(op, outAvals, e);
    }
    return outs.map((o, i) => wrap(this, o, outAvals[i]));
  }
}

/** The cpu backend instance. */
export const cpu: Backend = new CpuBackend();
registerBackend("cpu", () => Promise.resolve(cpu), cpu);

/** Direct access to the cpu kernel table (for tests and benchmarks). */
export function cpuKernels(): CpuKernels {
  return kernels;
}
