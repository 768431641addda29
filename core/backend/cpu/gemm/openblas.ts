/**
 * Optional OpenBLAS path through `Deno.dlopen` (`cblas_sgemm`). Loaded only
 * when the FFI permission is already granted — it never prompts — and any
 * failure (no permission, no library, no Deno) yields `null`.
 *
 * @module
 */
import type { ResolvedGemm } from "./reference.ts";

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
} as const;

const CANDIDATES = [
  "libopenblas.so.0",
  "libopenblas.so",
  "libopenblas.dylib",
  "libopenblas.0.dylib",
  "libopenblas.dll",
];

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/** A loaded OpenBLAS sgemm. */
export interface OpenBlas {
  /** Library file name that was opened. */
  readonly name: string;
  /** Run C = alpha·op(A)·op(B) + beta·C on validated options (m, n, k > 0). */
  sgemm(r: ResolvedGemm): void;
}

/**
 * Try to open OpenBLAS. Returns null without side effects when FFI is not
 * granted or the library is missing.
 *
 * @example
 * ```ts
 * const blas = loadOpenBlas(2);
 * if (blas) console.log(blas.name);
 * ```
 */
export function loadOpenBlas(threads: number): OpenBlas | null {
  if (typeof Deno === "undefined" || typeof Deno.dlopen !== "function") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  } catch {
    return null;
  }
  for (const name of CANDIDATES) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(name, SYMBOLS);
    } catch {
      continue;
    }
    try {
      lib.symbols.openblas_set_num_threads(Math.max(1, threads | 0));
    } catch {
      // Thread control is optional.
    }
    const f = lib.symbols.cblas_sgemm;
    return {
      name,
      sgemm(r: ResolvedGemm): void {
        const aRows = r.transA ? r.k : r.m, aCols = r.transA ? r.m : r.k;
        const bRows = r.transB ? r.n : r.k, bCols = r.transB ? r.k : r.n;
        const a = r.a.subarray(r.aOffset, r.aOffset + (aRows - 1) * r.lda + aCols);
        const b = r.b.subarray(r.bOffset, r.bOffset + (bRows - 1) * r.ldb + bCols);
        const c = r.c.subarray(r.cOffset, r.cOffset + (r.m - 1) * r.ldc + r.n);
        f(
          ROW_MAJOR,
          r.transA ? TRANS : NO_TRANS,
          r.transB ? TRANS : NO_TRANS,
          r.m,
          r.n,
          r.k,
          r.alpha,
          a,
          r.lda,
          b,
          r.ldb,
          r.beta,
          c,
          r.ldc,
        );
      },
    };
  }
  return null;
}
