/**
 * WGSL of threefry2x32 (20 rounds, key injection every four), bit-identical to the cpu kernel.
 * @module
 */
import { sizeOf } from "../../../shape.ts";
import type { RandomParams } from "../../../primitives/params.ts";
import type { GpuFamily } from "../kernel_types.ts";
import { elementKernel, groupsFor } from "../wgsl.ts";
import { outBuf } from "./elementwise.ts";

const ROT = [[13, 15, 26, 6], [17, 29, 16, 24]];

function rounds(): string {
  const s: string[] = [];
  for (let g = 0; g < 5; g++) {
    for (const r of ROT[g % 2]) {
      s.push(`    v0 = v0 + v1; v1 = (v1 << ${r}u) | (v1 >> ${32 - r}u); v1 = v1 ^ v0;`);
    }
    s.push(`    v0 = v0 + ks${(g + 1) % 3}; v1 = v1 + ks${(g + 2) % 3} + ${g + 1}u;`);
  }
  return s.join("\n");
}

/** Kernels of the random primitives. */
export const randomKernels: GpuFamily<RandomParams> = {
  threefry2x32: (gpu, ins, [a], _p, outAvals) => {
    const n = sizeOf(a.shape);
    const outs = outAvals.map((o) => outBuf(gpu, o));
    const body = `    let ks0 = in0[i]; let ks1 = in1[i]; let ks2 = ks0 ^ ks1 ^ 0x1bd11bdau;
    var v0 = in2[i] + ks0;
    var v1 = in3[i] + ks1;
${rounds()}
    out0[i] = v0;
    out1[i] = v1;`;
    const u = "uint32" as const;
    gpu.dispatch({ code: elementKernel([u, u, u, u], [u, u], n, body), ins, outs, groups: groupsFor(n) });
    return outs;
  },
};
