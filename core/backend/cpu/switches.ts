/**
 * The cpu backend's environment switches (`WAX_FUSION`, `WAX_NATIVE_ELEMENTWISE`,
 * `WAX_NATIVE_REDUCE`, `WAX_NATIVE_COPY`, `WAX_IMPLICIT_CONV`): on unless the variable is "0".
 * Read once, only where the process may read the variable already (never a permission prompt).
 * @module
 */

/**
 * Whether the switch `name` is on: true unless the environment sets it to "0".
 *
 * @param name The environment variable.
 * @returns The switch's state.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { envSwitch } from "./switches.ts";
 * assert.equal(typeof envSwitch("WAX_FUSION"), "boolean");
 * ```
 */
export function envSwitch(name: string): boolean {
  try {
    const d = (globalThis as { Deno?: typeof Deno }).Deno;
    if (!d) return true;
    if (d.permissions?.querySync?.({ name: "env", variable: name }).state !== "granted") return true;
    return d.env.get(name) !== "0";
  } catch {
    return true;
  }
}
