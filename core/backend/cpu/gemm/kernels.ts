/**
 * Generator for the WebAssembly GEMM module: packing routines for A and B
 * panels and a register-blocked SIMD macro-kernel.
 *
 * Packed layouts (all f32, `kcp` = k-block padded to a multiple of `unroll`):
 * - A panel of MR rows: `[p][r]`, panels of MR·kcp floats each (zero padded).
 * - B panel of NR cols: `[p][j]`, panels of NR·kcp floats each (zero padded).
 *
 * @module
 */
import { emitModule, F32, Fn, I32, V128 } from "./wasm_gen.ts";

/** Shape of the generated micro-kernel. */
export interface KernelConfig {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (multiple of 4). */
  nr: number;
  /** Unroll factor of the k loop (packed k is padded to a multiple of it). */
  unroll: number;
  /** Use `f32x4.relaxed_madd` instead of separate mul + add. */
  relaxed: boolean;
}

const LT_S = 0x48;
const LE_S = 0x4c;
const EQ = 0x46;
const SELECT = 0x1b;
const F32_MUL = 0x94;
const F32_ADD = 0x92;

/** Emit `min(local a, local b)` (signed) onto the stack. */
function min(f: Fn, a: number, b: number): void {
  f.get(a).get(b).get(a).get(b).op(LT_S).op(SELECT);
}

/**
 * `packA(src, rs, cs, mc, kc, kcp, alpha, dst)`: pack alpha·A[0:mc, 0:kc]
 * (element (i,p) at byte address src + i·rs + p·cs) into MR-row panels.
 */
function genPackA(cfg: KernelConfig): Fn {
  const { mr } = cfg;
  const f = new Fn("packA", [I32, I32, I32, I32, I32, I32, F32, I32]);
  const [src, rs, cs, mc, kc, kcp, alpha, dst] = [0, 1, 2, 3, 4, 5, 6, 7];
  const i0 = f.local(I32), p = f.local(I32), s = f.local(I32), lim = f.local(I32);
  const v = f.local(F32);
  const rowOff: number[] = [];
  for (let r = 0; r < mr; r++) {
    rowOff.push(f.local(I32));
    f.get(rs).i32(r).mul().set(rowOff[r]);
  }
  f.get(mc).i32(mr - 1).sub().set(lim);
  f.forRange(i0, 0, mc, mr, () => {
    f.get(src).get(i0).get(rs).mul().add().set(s);
    f.get(i0).get(lim).op(LT_S).ifElse(() => {
      // Full panel.
      f.forRange(p, 0, kc, 1, () => {
        for (let r = 0; r < mr; r++) {
          f.get(dst).get(s).get(rowOff[r]).add().f32Load().get(alpha).op(F32_MUL).f32Store(r * 4);
        }
        f.incBy(s, cs).inc(dst, mr * 4);
      });
    }, () => {
      // Partial last panel: rows past mc are zero.
      f.forRange(p, 0, kc, 1, () => {
        for (let r = 0; r < mr; r++) {
          f.f32(0).set(v);
          f.get(i0).i32(r).add().get(mc).op(LT_S).ifElse(() => {
            f.get(s).get(rowOff[r]).add().f32Load().get(alpha).op(F32_MUL).set(v);
          });
          f.get(dst).get(v).f32Store(r * 4);
        }
        f.incBy(s, cs).inc(dst, mr * 4);
      });
    });
    f.get(kc).set(p);
    f.block(() =>
      f.loop(() => {
        f.get(p).get(kcp).op(0x4e).brIf(1);
        for (let r = 0; r < mr; r++) f.get(dst).f32(0).f32Store(r * 4);
        f.inc(dst, mr * 4).inc(p, 1).br(0);
      })
    );
  });
  return f;
}

/**
 * `packB(src, rs, cs, kc, nc, kcp, dst)`: pack B[0:kc, 0:nc] (element (p,j)
 * at byte address src + p·rs + j·cs) into NR-column panels.
 */
function genPackB(cfg: KernelConfig): Fn {
  const { nr } = cfg;
  const nv = nr / 4;
  const f = new Fn("packB", [I32, I32, I32, I32, I32, I32, I32]);
  const [src, rs, cs, kc, nc, kcp, dst] = [0, 1, 2, 3, 4, 5, 6];
  const j0 = f.local(I32), p = f.local(I32), s = f.local(I32), lim = f.local(I32);
  const v = f.local(F32);
  const colOff: number[] = [];
  for (let j = 0; j < nr; j++) {
    colOff.push(f.local(I32));
    f.get(cs).i32(j).mul().set(colOff[j]);
  }
  f.get(nc).i32(nr - 1).sub().set(lim);
  f.forRange(j0, 0, nc, nr, () => {
    f.get(src).get(j0).get(cs).mul().add().set(s);
    f.get(j0).get(lim).op(LT_S).ifElse(() => {
      f.get(cs).i32(4).op(EQ).ifElse(() => {
        // Contiguous rows: copy NR floats with v128 loads.
        f.forRange(p, 0, kc, 1, () => {
          for (let j = 0; j < nv; j++) f.get(dst).get(s).vLoad(j * 16).vStore(j * 16);
          f.incBy(s, rs).inc(dst, nr * 4);
        });
      }, () => {
        f.forRange(p, 0, kc, 1, () => {
          for (let j = 0; j < nr; j++) f.get(dst).get(s).get(colOff[j]).add().f32Load().f32Store(j * 4);
          f.incBy(s, rs).inc(dst, nr * 4);
        });
      });
    }, () => {
      f.forRange(p, 0, kc, 1, () => {
        for (let j = 0; j < nr; j++) {
          f.f32(0).set(v);
          f.get(j0).i32(j).add().get(nc).op(LT_S).ifElse(() => {
            f.get(s).get(colOff[j]).add().f32Load().set(v);
          });
          f.get(dst).get(v).f32Store(j * 4);
        }
        f.incBy(s, rs).inc(dst, nr * 4);
      });
    });
    f.get(kc).set(p);
    f.block(() =>
      f.loop(() => {
        f.get(p).get(kcp).op(0x4e).brIf(1);
        for (let j = 0; j < nv; j++) f.get(dst).vZero().vStore(j * 16);
        f.inc(dst, nr * 4).inc(p, 1).br(0);
      })
    );
  });
  return f;
}

/**
 * `macro(mc, nc, kcp, ap, bp, c, ldc, tile, overwrite)`: C[0:mc, 0:nc] +=
 * Ap·Bp (or = Ap·Bp when `overwrite` is non-zero, without reading C) where
 * C is at byte address `c` with row stride `ldc` bytes and `tile` is a
 * scratch area of MR·NR floats for edge tiles.
 */
function genMacro(cfg: KernelConfig): Fn {
  const { mr, nr, unroll, relaxed } = cfg;
  const nv = nr / 4;
  const f = new Fn("macro", [I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [mc, nc, kcp, ap, bp, c, ldc, tile, overwrite] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ir = f.local(I32), jr = f.local(I32), pa = f.local(I32), pb = f.local(I32);
  const kk = f.local(I32), rowp = f.local(I32), r2 = f.local(I32), c2 = f.local(I32);
  const mrL = f.local(I32), nrL = f.local(I32), t = f.local(I32);
  const acc: number[] = [];
  for (let i = 0; i < mr * nv; i++) acc.push(f.local(V128));
  const bv: number[] = [];
  for (let j = 0; j < nv; j++) bv.push(f.local(V128));
  const av = f.local(V128);

  f.forRange(jr, 0, nc, nr, () => {
    f.forRange(ir, 0, mc, mr, () => {
      f.get(ap).get(ir).get(kcp).mul().i32(4).mul().add().set(pa);
      f.get(bp).get(jr).get(kcp).mul().i32(4).mul().add().set(pb);
      for (const a of acc) f.vZero().set(a);
      f.get(kcp).set(kk);
      f.loop(() => {
        for (let u = 0; u < unroll; u++) {
          for (let j = 0; j < nv; j++) f.get(pb).vLoad((u * nr + j * 4) * 4).set(bv[j]);
          for (let r = 0; r < mr; r++) {
            f.get(pa).vLoadSplat((u * mr + r) * 4).set(av);
            for (let j = 0; j < nv; j++) {
              const a = acc[r * nv + j];
              if (relaxed) f.get(av).get(bv[j]).get(a).vMadd().set(a);
              else f.get(av).get(bv[j]).vMul().get(a).vAdd().set(a);
            }
          }
        }
        f.inc(pa, mr * 4 * unroll).inc(pb, nr * 4 * unroll);
        f.get(kk).i32(unroll).sub().tee(kk).brIf(0);
      });
      // Write back.
      f.get(ir).i32(mr).add().get(mc).op(LE_S).get(jr).i32(nr).add().get(nc).op(LE_S).op(0x71); // i32.and
      f.ifElse(() => {
        f.get(c).get(ir).get(ldc).mul().add().get(jr).i32(4).mul().add().set(rowp);
        f.get(overwrite).ifElse(() => {
          for (let r = 0; r < mr; r++) {
            for (let j = 0; j < nv; j++) f.get(rowp).get(acc[r * nv + j]).vStore(j * 16);
            if (r + 1 < mr) f.incBy(rowp, ldc);
          }
        }, () => {
          for (let r = 0; r < mr; r++) {
            for (let j = 0; j < nv; j++) {
              f.get(rowp).get(rowp).vLoad(j * 16).get(acc[r * nv + j]).vAdd().vStore(j * 16);
            }
            if (r + 1 < mr) f.incBy(rowp, ldc);
          }
        });
      }, () => {
        for (let r = 0; r < mr; r++) {
          for (let j = 0; j < nv; j++) f.get(tile).get(acc[r * nv + j]).vStore((r * nr + j * 4) * 4);
        }
        f.get(mc).get(ir).sub().set(t);
        f.i32(mr).set(mrL);
        min(f, t, mrL);
        f.set(mrL);
        f.get(nc).get(jr).sub().set(t);
        f.i32(nr).set(nrL);
        min(f, t, nrL);
        f.set(nrL);
        f.forRange(r2, 0, mrL, 1, () => {
          f.get(c).get(ir).get(r2).add().get(ldc).mul().add().get(jr).i32(4).mul().add().set(rowp);
          f.forRange(c2, 0, nrL, 1, () => {
            f.get(rowp).get(c2).i32(4).mul().add().set(t);
            f.get(t);
            f.get(tile).get(r2).i32(nr).mul().get(c2).add().i32(4).mul().add().f32Load();
            f.f32(0).get(t).f32Load().get(overwrite).op(SELECT); // overwrite ? 0 : C
            f.op(F32_ADD).f32Store();
          });
        });
      });
    });
  });
  return f;
}

/**
 * Build the GEMM module bytes for a kernel configuration. The module imports
 * `env.mem` (pages `min..max`, shared when `shared`) and exports `packA`,
 * `packB` and `macro`.
 *
 * @example
 * ```ts
 * const bytes = buildGemmModule({ mr: 6, nr: 8, unroll: 2, relaxed: false }, 1, 16384, true);
 * WebAssembly.validate(bytes); // true
 * ```
 */
export function buildGemmModule(
  cfg: KernelConfig,
  minPages: number,
  maxPages: number,
  shared: boolean,
): Uint8Array<ArrayBuffer> {
  if (cfg.nr % 4 !== 0 || cfg.mr < 1 || cfg.unroll < 1) {
    throw new Error(`buildGemmModule: invalid kernel config mr=${cfg.mr} nr=${cfg.nr} unroll=${cfg.unroll}`);
  }
  return emitModule({ module: "env", name: "mem", min: minPages, max: maxPages, shared }, [
    genPackA(cfg),
    genPackB(cfg),
    genMacro(cfg),
  ]);
}

/** Whether this runtime validates `f32x4.relaxed_madd`. */
export function relaxedSimdSupported(): boolean {
  const f = new Fn("t", [V128, V128, V128], [V128]);
  f.get(0).get(1).get(2).vMadd();
  try {
    return WebAssembly.validate(emitModule({ module: "env", name: "mem", min: 1, max: 1, shared: false }, [f]));
  } catch {
    return false;
  }
}

/** Whether this runtime validates fixed-width SIMD. */
export function simdSupported(): boolean {
  const f = new Fn("t", [V128, V128], [V128]);
  f.get(0).get(1).vAdd();
  try {
    return WebAssembly.validate(emitModule({ module: "env", name: "mem", min: 1, max: 1, shared: false }, [f]));
  } catch {
    return false;
  }
}
