/**
 * Single elementwise operations run eagerly on the AVX-512 fused loops from 2048 elements
 * (`kernels/elementwise.ts`): bit for bit what the JavaScript template loop gives (the native
 * path switched off), on NaNs (signalling too), infinities, signed zeros, denormals and ordinary numbers.
 */
import assert from "node:assert/strict";
import { np } from "../mod.ts";
import { nativeElementwise, nativeStats } from "../core/backend/cpu/fused_x86.ts";
import { avx512Usable } from "../core/backend/cpu/gemm/x86/exec.ts";
import { cpuTest } from "./_backend.ts";
import { edgeFloats, mulberry32 as rng } from "./_ref.ts";

/** The op's result bits (32-bit words, or bytes of a bool result) with the native path on (checking that it ran natively) or off. */
async function both(f: () => ReturnType<typeof np.add>, native: boolean): Promise<Uint32Array | Uint8Array> {
  const calls = nativeStats.calls;
  nativeElementwise.enabled = native;
  try {
    const y = f();
    const data = await y.data();
    if (native) assert.equal(nativeStats.calls, calls + 1, "ran natively");
    else assert.equal(nativeStats.calls, calls, "ran in JavaScript");
    const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    return data.BYTES_PER_ELEMENT === 4 ? new Uint32Array(bytes) : new Uint8Array(bytes);
  } finally {
    nativeElementwise.enabled = true;
  }
}

cpuTest("eager elementwise: native single operations equal the JavaScript loop bit for bit", async () => {
  if (!avx512Usable()) return console.warn("eager_native_test: AVX-512 JIT not usable here; skipped");
  const n = 3001; // past the threshold, with a ragged tail
  const a = np.array(edgeFloats(n, rng(1))), b = np.array(edgeFloats(n, rng(2)));
  const cases: [string, () => ReturnType<typeof np.add>][] = [
    ["add", () => np.add(a, b)],
    ["sub", () => np.subtract(a, b)],
    ["mul", () => np.multiply(a, b)],
    ["div", () => np.divide(a, b)],
    ["max", () => np.maximum(a, b)],
    ["min", () => np.minimum(a, b)],
    ["neg", () => np.negative(a)],
    ["abs", () => np.abs(a)],
    ["sqrt", () => np.sqrt(a)],
    ["lt", () => np.less(a, b)],
    ["ge", () => np.greaterEqual(a, b)],
    ["ne", () => np.notEqual(a, b)],
  ];
  for (const [what, f] of cases) {
    const [got, want] = [await both(f, true), await both(f, false)];
    for (let i = 0; i < got.length; i++) {
      // A NaN result matches any NaN: the JS loop's own NaN payloads depend on V8's tier.
      const isNaN = (w: number) => (w & 0x7f800000) === 0x7f800000 && (w & 0x7fffff) !== 0;
      if (got[i] !== want[i] && !(isNaN(got[i]) && isNaN(want[i]))) {
        assert.fail(`${what}: element ${i}: 0x${got[i].toString(16)} vs 0x${want[i].toString(16)}`);
      }
    }
  }
  // Under the threshold the JavaScript loop runs.
  const calls = nativeStats.calls;
  await np.add(np.array(edgeFloats(1000, rng(3))), np.array(edgeFloats(1000, rng(4)))).data();
  assert.equal(nativeStats.calls, calls);
});
