/**
 * How arrays print: NumPy's `repr` layout as JAX shows it, `Array([[1, 2], [3, 4]], dtype=int32)`,
 * with lines wrapped at 75 columns, rows aligned, float32 values in their shortest exact form
 * (scientific notation when magnitudes are far apart) and arrays over 1,000 elements elided to
 * their first and last 3 entries per axis.
 * @module
 */
import type { DType } from "./dtype.ts";
import { sizeOf } from "./shape.ts";

/** NumPy's print options, fixed: total line width, elision threshold and edge items. */
export const PRINT = { lineWidth: 75, threshold: 1000, edgeItems: 3, precision: 8 } as const;

const PREFIX = "Array(";

/** Whether an array of `shape` prints elided (NumPy's `threshold`). */
function summarized(shape: readonly number[]): boolean {
  return sizeOf(shape) > PRINT.threshold;
}

/** Whether `axis` of length `n` loses its middle when the array is summarized. */
const elides = (n: number, summary: boolean) => summary && n > 2 * PRINT.edgeItems;

/** The shape of the values that print: an elided axis keeps its first and last `edgeItems`. */
export function shownShape(shape: readonly number[]): number[] {
  const summary = summarized(shape);
  return shape.map((n) => (elides(n, summary) ? 2 * PRINT.edgeItems : n));
}

/**
 * The values of an array of `shape` that print (row-major, in the layout of
 * {@link shownShape}): all of them for a small array, the edge items of a large one.
 */
export function shownValues<T extends ArrayLike<number>>(values: T, shape: readonly number[]): number[] | T {
  if (!summarized(shape)) return values;
  const summary = true;
  const out: number[] = [];
  const walk = (axis: number, offset: number) => {
    if (axis === shape.length) return void out.push(values[offset]);
    const n = shape[axis];
    const stride = sizeOf(shape.slice(axis + 1));
    const idx = elides(n, summary)
      ? [
        ...Array(PRINT.edgeItems).keys(),
        ...Array.from({ length: PRINT.edgeItems }, (_, i) => n - PRINT.edgeItems + i),
      ]
      : [...Array(n).keys()];
    for (const i of idx) walk(axis + 1, offset + i * stride);
  };
  walk(0, 0);
  return out;
}

/** The decimal digits and exponent of the shortest string that reads back as float32 `v` (`v` finite, not 0). */
function shortest(v: number): { digits: string; exp: number } {
  const a = Math.abs(v);
  let s = a.toExponential(8);
  for (let p = 0; p < 9; p++) {
    const t = a.toExponential(p);
    if (Math.fround(Number(t)) === a) {
      s = t;
      break;
    }
  }
  const [mant, e] = s.split("e");
  return { digits: mant.replace(".", "").replace(/0+$/, "") || "0", exp: Number(e) };
}

/** `v` in positional notation with at most `PRINT.precision` fractional digits: `[int part with sign, fraction]`. */
function positional(v: number): [string, string] {
  const sign = v < 0 || Object.is(v, -0) ? "-" : "";
  if (v === 0) return [`${sign}0`, ""];
  const { digits, exp } = shortest(v);
  const fracDigits = digits.length - exp - 1;
  if (fracDigits > PRINT.precision) {
    const [i, f] = Math.abs(v).toFixed(PRINT.precision).split(".");
    return [sign + i, f.replace(/0+$/, "")];
  }
  if (exp >= 0) return [sign + digits.slice(0, exp + 1).padEnd(exp + 1, "0"), digits.slice(exp + 1)];
  return [`${sign}0`, "0".repeat(-exp - 1) + digits];
}

/** `v` in scientific notation, shortest: `[mantissa int part with sign, mantissa fraction, exponent]`. */
function scientific(v: number): [string, string, number] {
  const sign = v < 0 || Object.is(v, -0) ? "-" : "";
  if (v === 0) return [`${sign}0`, "", 0];
  const { digits, exp } = shortest(v);
  return [sign + digits[0], digits.slice(1), exp];
}

/** A formatter for the float values of one array, every entry of one width (NumPy's `FloatingFormat`). */
function floatFormat(values: ArrayLike<number>): (v: number) => string {
  const finite = Array.from(values).filter(Number.isFinite);
  const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
  const max = nonzero.length ? Math.max(...nonzero) : 0;
  const min = nonzero.length ? Math.min(...nonzero) : 0;
  const exp = nonzero.length > 0 && (max >= 1e8 || min < 1e-4 || max / min > 1e3);
  let padLeft = 0;
  let padRight = 0;
  let body: (v: number) => string;
  if (exp) {
    const parts = finite.map(scientific);
    const fracLen = Math.max(...parts.map((p) => p[1].length));
    const expLen = Math.max(2, ...parts.map((p) => String(Math.abs(p[2])).length));
    padLeft = Math.max(...parts.map((p) => p[0].length));
    padRight = fracLen + 2 + expLen;
    body = (v) => {
      const [i, f, e] = scientific(v);
      const es = `${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(expLen, "0")}`;
      return `${i.padStart(padLeft)}.${f.padEnd(fracLen, "0")}e${es}`;
    };
  } else {
    const parts = finite.map(positional);
    padLeft = Math.max(0, ...parts.map((p) => p[0].length));
    padRight = Math.max(0, ...parts.map((p) => p[1].length));
    body = (v) => {
      const [i, f] = positional(v);
      return `${i.padStart(padLeft)}.${f.padEnd(padRight)}`;
    };
  }
  if (finite.length !== values.length) {
    const negInf = Array.from(values).some((v) => v === -Infinity);
    padLeft = Math.max(padLeft, 3 - (padRight + 1), 3 + (negInf ? 1 : 0) - (padRight + 1));
  }
  const width = padLeft + padRight + 1;
  return (v) => {
    if (Number.isNaN(v)) return "nan".padStart(width);
    if (!Number.isFinite(v)) return (v < 0 ? "-inf" : "inf").padStart(width);
    return body(v);
  };
}

/** A formatter for the values of one array of `dtype` (every entry of one width). */
function formatterFor(values: ArrayLike<number>, dtype: DType, scalar: boolean): (v: number) => string {
  if (dtype === "bool") return (v) => (v ? (scalar ? "True" : " True") : "False");
  if (dtype === "float32") return floatFormat(values);
  const width = Math.max(0, ...Array.from(values, (v) => String(v).length));
  return (v) => String(v).padStart(width);
}

/**
 * The nested-list text of an array: `[[1, 2],\n [3, 4]]` with continuation lines indented by
 * `indent` (NumPy's `_formatArray` layout: rows of one axis on lines of their own, blank lines
 * between blocks of higher axes, long rows wrapped before `width` columns).
 */
function nested(
  values: ArrayLike<number>,
  shape: readonly number[],
  fmt: (v: number) => string,
  indent: string,
  width: number,
): string {
  const summary = summarized(shape);
  const shown = shownShape(shape);
  const strides = shown.map((_, i) => sizeOf(shown.slice(i + 1)));
  /** Appends `word` to the current line, first starting a new one if it would pass `limit`. */
  const wrapTo = (lines: { done: string; line: string }, word: string, limit: number, hang: string) => {
    if (lines.line.length + word.length > limit && lines.line.length > hang.length) {
      lines.done += lines.line.trimEnd() + "\n";
      lines.line = hang;
    }
    lines.line += word;
  };
  const go = (axis: number, offset: number, hang: string, room: number): string => {
    if (axis === shape.length) return fmt(values[offset]);
    const n = shape[axis];
    const cut = elides(n, summary);
    // Positions in the shown values, with `null` where the "..." goes.
    const e = PRINT.edgeItems;
    const items: (number | null)[] = cut
      ? [...Array(e).keys(), null, ...Array.from({ length: e }, (_, i) => e + i)]
      : [...Array(n).keys()];
    const inner = hang + " ";
    let body: string;
    if (axis === shape.length - 1) {
      const lines = { done: "", line: hang };
      items.forEach((k, j) => {
        const word = k === null ? "..." : go(axis + 1, offset + k * strides[axis], inner, room - 1);
        wrapTo(lines, word, room - 1, hang);
        if (j < items.length - 1) lines.line += ", ";
      });
      body = lines.done + lines.line;
    } else {
      const sep = "," + "\n".repeat(shape.length - axis - 1);
      body = items.map((k) => hang + (k === null ? "..." : go(axis + 1, offset + k * strides[axis], inner, room - 1)))
        .join(sep);
    }
    return "[" + body.slice(hang.length) + "]";
  };
  return go(0, 0, indent, width);
}

/**
 * The text of an array from its values on the host: `Array([[1, 2], [3, 4]], dtype=int32)`
 * laid out as NumPy and JAX print it. `values` are the shown values ({@link shownValues}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatArray } from "./print.ts";
 * assert.equal(formatArray([1, 2.5], [2], "float32"), "Array([1. , 2.5], dtype=float32)");
 * ```
 */
export function formatArray(values: ArrayLike<number>, shape: readonly number[], dtype: DType): string {
  const tail = `dtype=${dtype})`;
  if (sizeOf(shape) === 0) return `${PREFIX}[], shape=(${shape.join(", ")}${shape.length === 1 ? "," : ""}), ${tail}`;
  const fmt = formatterFor(values, dtype, shape.length === 0);
  // One column is kept for the "," after the values (JAX prints with suffix ",").
  const body = nested(values, shape, fmt, " ".repeat(PREFIX.length + 1), PRINT.lineWidth - 1);
  const lastLine = (PREFIX + body).split("\n").pop()!;
  const sep = lastLine.length + 2 + tail.length > PRINT.lineWidth ? "\n" + " ".repeat(PREFIX.length) : " ";
  return `${PREFIX}${body},${sep}${tail}`;
}

/**
 * The text of an array whose values cannot be shown: `Array(float32[2,3], <why>)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { placeholder } from "./print.ts";
 * assert.equal(placeholder([2, 3], "float32", "traced"), "Array(float32[2,3], traced)");
 * ```
 */
export function placeholder(shape: readonly number[], dtype: DType, why: string): string {
  return `${PREFIX}${dtype}[${shape.join(",")}], ${why})`;
}
