/**
 * The native run copy (core/backend/cpu/copy_x86.ts) against a plain loop: random layouts with
 * runs of every length around the 16-float vector, and a destination filled with a sentinel, so a
 * write outside the runs (or a read past a run, copied along) shows. Skipped where AVX-512 code
 * cannot run (no avx512f, not linux x86_64, no FFI permission); the transpose test runs everywhere
 * (elsewhere it checks the JavaScript copy).
 */
import assert from "node:assert/strict";
import { copyRuns, nativeCopy, type RunLayout } from "../core/backend/cpu/copy_x86.ts";
import { avx512Usable } from "../core/backend/cpu/gemm/x86/exec.ts";
import { mulberry32 } from "./_ref.ts";
import { transposeArray } from "../core/backend/cpu/kernels/movement.ts";
import type { DType, TypedArray } from "../core/dtype.ts";

const ignore = !avx512Usable();

function reference(src: Float32Array, sOff: number, dst: Float32Array, dOff: number, l: RunLayout): void {
  for (let b = 0; b < l.outer; b++) {
    for (let p = 0; p < l.inner; p++) {
      for (let r = 0; r < l.srcRows.length; r++) {
        const s = sOff + b * l.srcOuter + p * l.srcInner + l.srcRows[r];
        const d = dOff + b * l.dstOuter + p * l.dstInner + l.dstRows[r], step = l.dstStep ?? 1;
        for (let j = 0; j < l.len; j++) dst[d + j * step] = src[s + j];
      }
    }
  }
}

Deno.test({
  name: "copyRuns: random layouts equal a plain loop, nothing outside the runs is written",
  ignore,
  fn() {
    const rand = mulberry32(11);
    const int = (n: number) => Math.floor(rand() * n);
    for (
      const [len, dstStep] of [1, 2, 7, 14, 15, 16, 17, 31, 32, 33, 49, 64, 100].flatMap((
        n,
      ) => [[n, 1], [n, 2], [n, 3]])
    ) {
      const outer = 1 + int(3), inner = 1 + int(4), rows = 1 + int(5);
      // Runs placed without overlap in the destination: each row a slot of its span + a gap.
      const span = (len - 1) * dstStep + 1, slot = span + int(4);
      const dstRows = Array.from({ length: rows }, (_, r) => r * slot + int(slot - span + 1));
      const dstInner = rows * slot + int(5), dstOuter = inner * dstInner + int(5);
      const srcRows = Array.from({ length: rows }, () => int(50));
      const srcInner = 50 + len + int(10), srcOuter = inner * srcInner + int(10);
      const src = Float32Array.from({ length: outer * srcOuter + 7 }, () => rand() * 2 - 1);
      const l = { outer, srcOuter, dstOuter, inner, srcInner, dstInner, srcRows, dstRows, len, dstStep };
      const [sOff, dOff] = [int(5), int(5)];
      const got = new Float32Array(dOff + outer * dstOuter + 16).fill(-7), want = got.slice();
      assert.ok(copyRuns(src, sOff, got, dOff, l), "native code ran");
      reference(src, sOff, want, dOff, l);
      assert.deepEqual(got, want, `len ${len} step ${dstStep}: ${JSON.stringify({ ...l, srcRows: undefined })}`);
    }
  },
});

Deno.test({
  name: "copyRuns: switched off, it copies nothing and says so",
  ignore,
  fn() {
    const src = Float32Array.of(1, 2, 3), dst = new Float32Array(3);
    const l = {
      outer: 1,
      srcOuter: 0,
      dstOuter: 0,
      inner: 1,
      srcInner: 0,
      dstInner: 0,
      srcRows: [0],
      dstRows: [0],
      len: 3,
    };
    nativeCopy.enabled = false;
    try {
      assert.equal(copyRuns(src, 0, dst, 0, l), false);
      assert.deepEqual([...dst], [0, 0, 0]);
    } finally {
      nativeCopy.enabled = true;
    }
    assert.equal(copyRuns(src, 0, dst, 0, l), true);
    assert.deepEqual([...dst], [1, 2, 3]);
  },
});

Deno.test("transposes that keep the trailing axes (native runs) equal an index-by-index oracle, bits included", () => {
  const shape = [8, 16, 6, 7];
  const n = shape.reduce((a, b) => a * b, 1);
  const rand = mulberry32(5);
  // Float32 with NaN payloads and -0 (a bit copy keeps them), and int32.
  const bits = Uint32Array.from({ length: n }, () => Math.floor(rand() * 2 ** 32));
  bits[3] = 0x7fc01234, bits[4] = 0x80000000;
  const inputs: [TypedArray, DType][] = [[new Float32Array(bits.buffer), "float32"], [
    new Int32Array(bits.buffer),
    "int32",
  ]];
  for (const [x, dtype] of inputs) {
    for (const perm of [[1, 0, 2, 3], [2, 1, 0, 3], [0, 2, 1, 3], [1, 2, 0, 3]]) {
      const got = transposeArray(x, shape, perm, dtype);
      const oshape = perm.map((p) => shape[p]), st = [16 * 6 * 7, 6 * 7, 7, 1];
      const want = new Uint32Array(n);
      const idx = [0, 0, 0, 0];
      for (let o = 0; o < n; o++) {
        let rem = o;
        for (let d = 3; d >= 0; d--) idx[d] = rem % oshape[d], rem = Math.floor(rem / oshape[d]);
        want[o] = bits[perm.reduce((s, p, d) => s + idx[d] * st[p], 0)];
      }
      assert.deepEqual(new Uint32Array(got.buffer, got.byteOffset, n), want, `${dtype} perm ${perm}`);
    }
  }
});
