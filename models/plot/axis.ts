/**
 * Axis scales (linear or log) and their ticks: "nice" steps of 1, 2 or 5 × 10ᵏ on a linear
 * axis, powers of ten on a log axis, and compact tick labels.
 * @module
 */

/** A tick: its value, its label (empty for a minor tick) and whether it is a major tick. */
export interface Tick {
  /** Data value. */
  value: number;
  /** Label text ("" for minor ticks). */
  label: string;
  /** Major ticks get a label and a longer mark. */
  major: boolean;
}

/**
 * A map from a data interval `[lo, hi]` to a pixel interval `[p0, p1]`, linear or logarithmic.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Scale } from "@wax/wax/models";
 * const s = new Scale([1, 100], [0, 200], { log: true });
 * assert.equal(s.toPx(10), 100);
 * assert.equal(s.fromPx(200), 100);
 * ```
 */
export class Scale {
  /** Data interval. */
  readonly domain: [number, number];
  /** Pixel interval (p0 is where `lo` lands; p1 may be smaller, as on a y axis). */
  readonly range: [number, number];
  /** Whether the scale is logarithmic (base 10). */
  readonly log: boolean;

  /**
   * A scale from a data interval to a pixel interval.
   * @param domain `[lo, hi]` in data units (positive for a log scale).
   * @param range `[p0, p1]` in pixels.
   * @param opts `log` (default false).
   */
  constructor(domain: [number, number], range: [number, number], opts: { log?: boolean } = {}) {
    this.log = !!opts.log;
    if (this.log && !(domain[0] > 0 && domain[1] > 0)) {
      throw new RangeError(`Scale: a log scale needs a positive domain, got [${domain}]; drop log or clip the data`);
    }
    this.domain = domain;
    this.range = range;
  }

  #t(v: number): number {
    return this.log ? Math.log10(v) : v;
  }

  /**
   * Pixel coordinate of a data value (non-finite for values a log scale cannot show).
   * @param v Data value.
   * @returns Pixel coordinate.
   */
  toPx(v: number): number {
    const [a, b] = [this.#t(this.domain[0]), this.#t(this.domain[1])];
    return this.range[0] + ((this.#t(v) - a) / (b - a)) * (this.range[1] - this.range[0]);
  }

  /**
   * Data value at a pixel coordinate.
   * @param p Pixel coordinate.
   * @returns Data value.
   */
  fromPx(p: number): number {
    const [a, b] = [this.#t(this.domain[0]), this.#t(this.domain[1])];
    const t = a + ((p - this.range[0]) / (this.range[1] - this.range[0])) * (b - a);
    return this.log ? 10 ** t : t;
  }

  /**
   * Pixels per data unit at a value (the derivative of `toPx`).
   * @param v Data value.
   * @returns d(px)/d(value).
   */
  slope(v: number): number {
    const [a, b] = [this.#t(this.domain[0]), this.#t(this.domain[1])];
    const k = (this.range[1] - this.range[0]) / (b - a);
    return this.log ? k / (v * Math.LN10) : k;
  }

  /**
   * Ticks for this scale, about `target` major ones.
   * @param target Desired number of major ticks (default 6).
   * @returns The ticks inside the domain.
   */
  ticks(target = 6): Tick[] {
    return this.log ? logTicks(this.domain, target) : linearTicks(this.domain, target);
  }
}

/** The "nice" step (1, 2 or 5 × 10ᵏ) giving about `target` intervals over `span`. */
function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const k = Math.floor(Math.log10(raw));
  const m = raw / 10 ** k;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * 10 ** k;
}

function linearTicks([lo, hi]: [number, number], target: number): Tick[] {
  const step = niceStep(Math.abs(hi - lo), target);
  const [a, b] = [Math.min(lo, hi), Math.max(lo, hi)];
  const out: Tick[] = [];
  for (let i = Math.ceil(a / step - 1e-9); i * step <= b + step * 1e-9; i++) {
    const value = i * step;
    out.push({ value, label: formatTick(value, step), major: true });
  }
  return out;
}

function logTicks([lo, hi]: [number, number], target: number): Tick[] {
  const [a, b] = [Math.log10(Math.min(lo, hi)), Math.log10(Math.max(lo, hi))];
  const decades = b - a;
  const every = Math.max(1, Math.ceil(decades / Math.max(1, target)));
  const out: Tick[] = [];
  for (let k = Math.floor(a); k <= Math.ceil(b); k++) {
    const major = k % every === 0;
    const v = 10 ** k;
    if (v >= 10 ** a * (1 - 1e-9) && v <= 10 ** b * (1 + 1e-9)) {
      out.push({ value: v, label: major ? formatPow10(k) : "", major });
    }
    if (every === 1 && decades < 8) {
      for (let m = 2; m < 10; m++) {
        const w = m * v;
        if (w >= 10 ** a && w <= 10 ** b) {
          out.push({ value: w, label: decades < 1.2 ? formatTick(w, w) : "", major: false });
        }
      }
    }
  }
  return out;
}

/**
 * A compact label for a tick value on a grid of spacing `step`.
 *
 * @param v The value.
 * @param step The tick spacing (sets the number of decimals).
 * @returns The label.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatTick } from "@wax/wax/models";
 * assert.deepEqual([formatTick(0.30000000000000004, 0.1), formatTick(-1e-17, 0.5), formatTick(2e6, 1e6)], ["0.3", "0.0", "2e6"]);
 * ```
 */
export function formatTick(v: number, step: number): string {
  if (Math.abs(v) < Math.abs(step) * 1e-9) v = 0;
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(step) < 1e-4)) {
    const digits = Math.max(0, Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(Math.abs(step))));
    const [m, e] = v.toExponential(Math.min(20, digits)).split("e");
    return `${m.replace(/\.?0+$/, "")}e${Number(e)}`;
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(Math.abs(step)) + 1e-9));
  return v.toFixed(Math.min(20, decimals)).replace(/^-(0\.?0*)$/, "$1");
}

function formatPow10(k: number): string {
  return k >= -3 && k <= 3 ? formatTick(10 ** k, 10 ** k) : `1e${k}`;
}
