/**
 * The cpu backend: host typed arrays, one kernel per primitive, programs interpreted by
 * the executor. Kernels are a replaceable table (reference loops plus the GEMM core).
 * @module
 */
import type { Array, Aval } from "../../array.ts";
import type { TypedArray } from "../../dtype.ts";
import type { Params, PrimName } from "../../primitives/types.ts";
import { type Backend, registerBackend, wrap } from "../backend.ts";
import { structureKernels } from "./executor.ts";
import type { CpuKernels } from "./kernel_types.ts";
import { contractKernels } from "./kernels/contract.ts";
import { elementwiseKernels } from "./kernels/elementwise.ts";
import { indexingKernels } from "./kernels/indexing.ts";
import { movementKernels } from "./kernels/movement.ts";
import { randomKernels } from "./kernels/random.ts";
import { reduceKernels } from "./kernels/reduce.ts";
import { windowKernels } from "./kernels/window.ts";
import { allocationError, poolable, recycle } from "./pool.ts";

const kernels: CpuKernels = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...movementKernels,
  ...indexingKernels,
  ...contractKernels,
  ...windowKernels,
  ...randomKernels,
  ...structureKernels(() => kernels),
};

/** Every array gets storage of its own (storage is recycled when its array goes). */
function copyIfAliased(outs: TypedArray[], ins: TypedArray[]): TypedArray[] {
  return outs.map((o, k) =>
    ins.some((i) => i.buffer === o.buffer) || outs.some((p, j) => j < k && p.buffer === o.buffer) ? o.slice() : o
  );
}

class CpuBackend implements Backend {
  readonly name = "cpu" as const;
  fromHost(data: TypedArray, _aval: Aval): unknown {
    return data.slice();
  }
  read(handle: unknown): Promise<TypedArray> {
    return Promise.resolve((handle as TypedArray).slice());
  }
  release(handle: unknown): void {
    recycle(handle as TypedArray);
  }
  reuses(handle: unknown): boolean {
    return poolable(handle as TypedArray);
  }
  execute<K extends PrimName>(prim: K, args: Array[], params: Params[K], outAvals: Aval[]): Array[] {
    const ins = args.map((a) => a.buffer(prim).handle as TypedArray);
    const kernel = kernels[prim] as (
      i: TypedArray[],
      a: readonly Aval[],
      p: Params[K],
      o: readonly Aval[],
    ) => TypedArray[];
    let outs: TypedArray[];
    try {
      outs = copyIfAliased(kernel(ins, args.map((a) => a.aval), params, outAvals), ins);
    } catch (e) {
      throw allocationError(prim, outAvals, e);
    }
    if (prim === "jitCall") {
      const donate = (params as Params["jitCall"]).donate;
      donate?.forEach((d, i) => d && args[i].isLive && args[i].donate());
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
