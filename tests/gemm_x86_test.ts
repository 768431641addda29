// Tests of the experimental x86-64 AVX-512 JIT GEMM path
// (core/backend/cpu/gemm/x86/). The encoder is checked against bytes produced
// by GNU as; the GEMM against the float64 reference loop. GEMM tests are
// ignored where the path is unavailable (no FFI permission, not linux x86_64,
// or no AVX-512), the threaded ones also where there are no worker threads.
import assert from "node:assert/strict";
import { Asm, mem, R } from "../core/backend/cpu/gemm/x86/asm.ts";
import { genMacroKernel, TILE, tileFits } from "../core/backend/cpu/gemm/x86/kernel.ts";
import { genPacker } from "../core/backend/cpu/gemm/x86/pack.ts";
import { loadX86Gemm, sgemmX86 } from "../core/backend/cpu/gemm/x86/driver.ts";
import { type SgemmOptions, sgemmRef } from "../core/backend/cpu/gemm/reference.ts";
import { workerCtor } from "../core/backend/cpu/gemm/threads.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("x86 asm: encodings match GNU as", () => {
  const { rax, rcx, rdx, rbx, rsi, rdi, r8, r9, r10, r11, r12, r13 } = R;
  const a = new Asm();
  a.vmovupsLoad(0, mem(rax)).vmovupsLoad(24, mem(rsi, 64)).vmovupsLoad(27, mem(rax, 192, r11, 1))
    .vmovupsLoad(5, mem(rcx, 128, r8, 2), 1).vmovupsStore(mem(r13, 64, r8, 2), 23, 3).vmovupsStore(mem(rcx), 0)
    .vbroadcastss(28, mem(rdx, 20)).vbroadcastss(29, mem(rdx, 1000)).vbroadcastss(31, mem(rdi, 72))
    .vfmadd231ps(0, 24, 28).vfmadd231ps(23, 27, 29).vfmadd231ps(17, 31, mem(r13, 192, r8, 1), { mask: 4 })
    .vfmadd231ps(9, 26, mem(rdx, 8), { bcst: true }).vpxord(21, 21, 21).kmovwLoad(1, mem(rax, 2)).vzeroupper()
    .prefetcht0(mem(rcx, 64, r8, 2)).prefetcht0(mem(r13, 64))
    .movLoad(rsi, mem(rdi, 8)).movLoad(r9, mem(rdi, 56)).mov(rax, rsi).mov(r13, rcx).movImm32(rax, 42)
    .movImm32(r10, 7).lea(rcx, mem(rcx, 0, r8, 4)).lea(r13, mem(rcx, 0, r8, 2)).addImm(rsi, 1024).add(rbx, r8)
    .addLoad(rsi, mem(rdi, 96)).dec(r11).test(r11, r11).cmpImm8(r9, 1).push(rbx).push(r12).pop(r13).ret()
    .vgatherdps(0, mem(rcx, 0, 8, 4), 1).vgatherdps(3, mem(R.r10, 0, 11, 4), 4).vmulps(2, 2, 31)
    .vscatterdps(mem(rcx, 0, 8, 4), 0, 1).vscatterdps(mem(rdx, 0, 9, 4), 17, 2);
  // `as` on: vmovups zmm0,[rax]; ...; vgatherdps zmm3{k4},[r10+zmm11*4]; vmulps zmm2,zmm2,zmm31;
  // vscatterdps [rcx+zmm8*4]{k1},zmm0; vscatterdps [rdx+zmm9*4]{k2},zmm17
  const want = "62f17c48100062617c4810460162217c48105c180362b17cc9106c410262817c4b117c450162f17c481101" +
    "62627d4818620562627d4818aae803000062627d48187f1262923d40b8c462822540b8fd62820544b84c0503" +
    "62722d50b84a0262a15540efedc5f8904802c5f877420f184c4140410f184d40488b77084c8b4f384889f049" +
    "89cdb82a00000041ba070000004a8d0c814e8d2c414881c6000400004c01c34803776049ffcb4d85db4983f9" +
    "01534154415dc3" + "62b27d4992048162927d4c921c9a62916c4859d7" + "62b27d49a2048162a27d4aa20c8a";
  assert.deepStrictEqual(hex(a.finish()), want);
});

Deno.test("x86 asm: labels resolve to rel32 and undefined labels throw", () => {
  const a = new Asm().label("top").dec(R.rcx).jnz("top").jmp("end").label("end").ret();
  assert.deepStrictEqual(hex(a.finish()), "48ffc90f85f7ffffffe900000000c3");
  let threw = false;
  try {
    new Asm().jz("nowhere").finish();
  } catch {
    threw = true;
  }
  assert(threw, "undefined label must throw");
});

Deno.test("x86 kernel generator: every tail variant and packer assembles", () => {
  assert(tileFits(TILE));
  assert(!tileFits({ mr: 8, nv: 4, embed: false }));
  for (let rem = 0; rem < TILE.mr; rem++) assert(genMacroKernel(TILE, rem).length > 100);
  for (const w of [6, 16, 64]) for (const g of [false, true]) assert(genPacker(w, g).length > 20);
});

const eng = loadX86Gemm(2);
const ignore = eng === null;
/** A bound on worker start-up that only a hang exceeds (CI machines are shared and slow). */
const HANG_MS = 120_000;
const noWorkers = ignore || workerCtor() === null;

let seed = 7;
function rnd(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
}

function check(o: SgemmOptions, label: string): void {
  const want = o.c.slice();
  sgemmRef({ ...o, c: want });
  sgemmX86(o);
  const tol = 1e-5 * Math.max(1, o.k);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(o.c[i] - want[i]) <= tol * (1 + Math.abs(want[i]));
    if (!ok) throw new Error(`${label}: c[${i}] = ${o.c[i]}, want ${want[i]}`);
  }
}

/** Random problem with offsets and padded strides; sentinel-filled C checks untouched cells. */
function problem(m: number, n: number, k: number, transA: boolean, transB: boolean, beta: number, alpha: number) {
  const lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2;
  return {
    m,
    n,
    k,
    a: rnd(5 + lda * (transA ? k : m)),
    aOffset: 5,
    lda,
    transA,
    b: rnd(2 + ldb * (transB ? n : k)),
    bOffset: 2,
    ldb,
    transB,
    c: rnd(3 + ldc * m + 7),
    cOffset: 3,
    ldc,
    alpha,
    beta,
  };
}

Deno.test({
  name: "x86 sgemm: odd sizes, transposes, offsets, strides, alpha, beta",
  ignore,
  fn() {
    const sizes = [1, 7, 15, 17, 33, 100, 257];
    let t = 0;
    for (const m of sizes) {
      for (const n of sizes) {
        const k = sizes[(t++ * 3) % sizes.length];
        const transA = t % 2 === 1, transB = t % 3 === 1;
        const beta = [0, 1, 0.5, -2][t % 4], alpha = [1, 1.5, -0.75][t % 3];
        check(problem(m, n, k, transA, transB, beta, alpha), `m=${m} n=${n} k=${k} tA=${transA} tB=${transB}`);
      }
    }
  },
});

Deno.test({
  name: "x86 sgemm: every tail of mr and nr, k around the unroll",
  ignore,
  fn() {
    for (let m = 1; m <= 13; m++) {
      for (const n of [1, 16, 31, 63, 64, 65, 129]) {
        for (const k of [1, 3, 4, 5, 9]) check(problem(m, n, k, m % 2 === 0, n % 2 === 0, 0.5, 1.25), `${m}x${n}x${k}`);
      }
    }
  },
});

Deno.test({
  name: "x86 sgemm: k=0, alpha=0, beta=0 ignores NaN in C, empty shapes",
  ignore,
  fn() {
    const a = new Float32Array(6).fill(1), b = new Float32Array(6).fill(1);
    const c = new Float32Array(4).fill(NaN);
    sgemmX86({ m: 2, n: 2, k: 3, a, b, c });
    assert.deepStrictEqual(Array.from(c), [3, 3, 3, 3]);
    c.fill(2);
    sgemmX86({ m: 2, n: 2, k: 0, a, b, c, beta: 0.5 });
    assert.deepStrictEqual(Array.from(c), [1, 1, 1, 1]);
    sgemmX86({ m: 2, n: 2, k: 3, a, b, c, alpha: 0, beta: 3 });
    assert.deepStrictEqual(Array.from(c), [3, 3, 3, 3]);
    sgemmX86({ m: 0, n: 2, k: 3, a, b, c: new Float32Array(0) });
  },
});

Deno.test({
  name: "x86 sgemm: large multi-block products on worker threads (sampled rows)",
  ignore: noWorkers,
  fn() {
    assert.strictEqual(eng!.warmup(HANG_MS), 2, "main thread + 1 worker ready");
    for (
      const [m, n, k, transA, transB, beta] of [
        [1024, 1024, 1024, false, false, 0],
        [300, 1100, 700, true, true, 0.5],
        [128, 3136, 600, false, false, 1],
        [1000, 70, 300, false, true, 0],
      ] as [number, number, number, boolean, boolean, number][]
    ) {
      const o = problem(m, n, k, transA, transB, beta, 1.5);
      const c0 = o.c.slice();
      const before = eng!.workerSlices;
      eng!.takeBackLate = false; // the worker's share is its own, however late it starts
      try {
        sgemmX86(o);
      } finally {
        eng!.takeBackLate = true;
      }
      assert.strictEqual(eng!.workerSlices - before, 1, `the worker computed part of C in ${m}x${n}x${k}`);
      for (const i of [0, 1, 5, Math.floor(m / 2), m - 2, m - 1]) {
        const want = c0.slice();
        // Row i alone: op(A) row i starts at aOffset + i (transA) or aOffset + i·lda.
        const aOffset = o.aOffset + (transA ? i : i * o.lda);
        sgemmRef({ ...o, m: 1, aOffset, c: want, cOffset: o.cOffset + i * o.ldc });
        for (let j = 0; j < n; j++) {
          const at = o.cOffset + i * o.ldc + j;
          assert(Math.abs(o.c[at] - want[at]) <= 1e-5 * k * (1 + Math.abs(want[at])), `${m}x${n}x${k} C[${i},${j}]`);
        }
      }
      assert.deepStrictEqual(o.c[o.cOffset - 1], c0[o.cOffset - 1]);
      assert.deepStrictEqual(o.c[o.c.length - 1], c0[o.c.length - 1]);
    }
  },
});

Deno.test({
  name: "x86 sgemm: many back-to-back threaded calls stay correct, with and without taking late shares back",
  ignore: noWorkers,
  fn() {
    assert.strictEqual(eng!.warmup(HANG_MS), 2, "main thread + 1 worker ready");
    for (const takeBack of [false, true]) {
      const worker = eng!.workerSlices, taken = eng!.takenBack;
      eng!.takeBackLate = takeBack;
      try {
        for (let t = 0; t < 30; t++) {
          const m = 240 + (t * 7) % 40, n = 240 + (t * 13) % 70, k = 200 + (t * 5) % 30;
          check(problem(m, n, k, t % 2 === 0, t % 3 === 0, t % 2 ? 0 : 0.5, 1), `call ${t}: ${m}x${n}x${k}`);
        }
      } finally {
        eng!.takeBackLate = true;
      }
      // Every one of these products (≥ 2·224³ flops) is split: the worker's share ran on the worker,
      // or (taking back) on the main thread when the worker had not started yet.
      if (!takeBack) assert.strictEqual(eng!.workerSlices - worker, 30);
      else assert.strictEqual(eng!.workerSlices - worker + eng!.takenBack - taken, 30);
    }
  },
});
