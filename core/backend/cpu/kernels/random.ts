/**
 * CPU kernel of the threefry2x32 block cipher: 20 rounds in five groups of four, with a key
 * injection (plus the injection counter) after each group — the Random123 / JAX variant.
 * @module
 */
import type { RandomParams } from "../../../primitives/params.ts";
import { allocUninit } from "../pool.ts";
import type { FamilyKernels } from "../kernel_types.ts";

const ROT_A = [13, 15, 26, 6];
const ROT_B = [17, 29, 16, 24];

/** Threefry-2x32 (20 rounds) of one block; writes the two output words into `out`. */
export function threefry2x32Block(k0: number, k1: number, x0: number, x1: number, out: Uint32Array, at: number): void {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  let v0 = (x0 + ks[0]) | 0;
  let v1 = (x1 + ks[1]) | 0;
  for (let g = 0; g < 5; g++) {
    const rot = g % 2 === 0 ? ROT_A : ROT_B;
    for (let r = 0; r < 4; r++) {
      v0 = (v0 + v1) | 0;
      v1 = (v1 << rot[r]) | (v1 >>> (32 - rot[r]));
      v1 ^= v0;
    }
    // Injection g+1: words ks[(g+1)%3] and ks[(g+2)%3] + (g+1).
    v0 = (v0 + ks[(g + 1) % 3]) | 0;
    v1 = (v1 + ks[(g + 2) % 3] + g + 1) | 0;
  }
  out[at] = v0;
  out[at + 1] = v1;
}

/** Kernels of the random primitives. */
export const randomKernels: FamilyKernels<RandomParams> = {
  threefry2x32: ([k0, k1, x0, x1]) => {
    const n = k0.length;
    const y0 = allocUninit("uint32", n), y1 = allocUninit("uint32", n);
    const pair = new Uint32Array(2);
    for (let i = 0; i < n; i++) {
      threefry2x32Block(k0[i], k1[i], x0[i], x1[i], pair, 0);
      y0[i] = pair[0];
      y1[i] = pair[1];
    }
    return [y0, y1];
  },
};
