/**
 * Strict request validation. Each endpoint declares its parameters (integers and numbers in
 * ranges, choices, latent vectors); anything else (an unknown name, a repeated one, text that
 * is not exactly a number, a value out of range) is a `BadRequest` whose JSON names the
 * parameter and the allowed values. Values are only ever parsed into numbers and known names:
 * none is used as a path.
 * @module
 */

/** A request the server refuses with a 4xx status and a JSON message. */
export class BadRequest extends Error {
  /** The error's name. */
  override name = "BadRequest";
  /** The HTTP status (400 unless said). */
  readonly status: number;
  /** The offending parameter, if one. */
  readonly parameter: string | null;
  /** What would have been accepted. */
  readonly allowed: string | null;

  /**
   * A refusal.
   * @param message What was wrong, and what to send instead.
   * @param opts `parameter`, `allowed` and `status` (default 400).
   */
  constructor(message: string, opts: { parameter?: string; allowed?: string; status?: number } = {}) {
    super(message);
    this.parameter = opts.parameter ?? null;
    this.allowed = opts.allowed ?? null;
    this.status = opts.status ?? 400;
  }

  /** The JSON body: `{ error, parameter, allowed }`. */
  toJSON(): { error: string; parameter: string | null; allowed: string | null } {
    return { error: this.message, parameter: this.parameter, allowed: this.allowed };
  }
}

/** How one parameter is read. */
export type ParamSpec =
  | { readonly kind: "int"; readonly min: number; readonly max: number; readonly default?: number }
  | { readonly kind: "number"; readonly min: number; readonly max: number; readonly default?: number }
  | { readonly kind: "choice"; readonly values: readonly string[]; readonly default?: string }
  | { readonly kind: "vector"; readonly min: number; readonly max: number; readonly maxLength: number };

/** The parameters an endpoint takes, by name. */
export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** The value one spec reads: a number, one of the choices, or a list of numbers. */
export type ValueOf<S extends ParamSpec> = S extends { kind: "int" | "number" } ? number
  : S extends { kind: "choice"; values: readonly (infer V)[] } ? V
  : number[];

/** The values read against `S`: a parameter with a default is always there, the others may be undefined. */
export type ParamsOf<S extends ParamSpecs> = {
  -readonly [K in keyof S]: S[K] extends { default: string | number } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

/** The values read against specs only known at run time. */
export type Params = Record<string, number | string | number[] | undefined>;

const INT = /^-?\d{1,16}$/;
const NUMBER = /^-?(\d{1,16}(\.\d{0,16})?|\.\d{1,16})([eE][-+]?\d{1,3})?$/;

/** The allowed values of a parameter, in words. */
export function allowedText(spec: ParamSpec): string {
  switch (spec.kind) {
    case "int":
      return `an integer from ${spec.min} to ${spec.max}`;
    case "number":
      return `a number from ${spec.min} to ${spec.max}`;
    case "choice":
      return `one of ${spec.values.join(", ")}`;
    case "vector":
      return `up to ${spec.maxLength} comma-separated numbers from ${spec.min} to ${spec.max}`;
  }
}

/**
 * Reads one value.
 *
 * @param name The parameter's name (for the message).
 * @param raw The text sent.
 * @param spec How to read it.
 * @returns The value.
 */
export function parseValue(name: string, raw: string, spec: ParamSpec): number | string | number[] {
  const bad = () =>
    new BadRequest(`${name} must be ${allowedText(spec)}, got ${JSON.stringify(raw.slice(0, 40))}`, {
      parameter: name,
      allowed: allowedText(spec),
    });
  switch (spec.kind) {
    case "int": {
      const v = Number(raw);
      if (!INT.test(raw) || !Number.isSafeInteger(v) || v < spec.min || v > spec.max) throw bad();
      return v;
    }
    case "number": {
      const v = Number(raw);
      if (!NUMBER.test(raw) || !Number.isFinite(v) || v < spec.min || v > spec.max) throw bad();
      return v;
    }
    case "choice":
      if (!spec.values.includes(raw)) throw bad();
      return raw;
    case "vector": {
      const parts = raw.split(",");
      if (raw.length > spec.maxLength * 24 || parts.length > spec.maxLength) throw bad();
      return parts.map((p) => {
        const v = Number(p);
        if (!NUMBER.test(p) || !Number.isFinite(v) || v < spec.min || v > spec.max) throw bad();
        return v;
      });
    }
  }
}

/** The names of `S` whose spec is a `T`. */
type KeysOf<S, T> = { [K in keyof S]: S[K] extends T ? K : never }[keyof S] & string;
/** The choices of a choice spec. */
type ChoiceOf<S> = S extends { values: readonly (infer V extends string)[] } ? V : never;

/**
 * Validated values of one request, read by name with the type their spec gives: a number,
 * one of the choices, or a list of numbers; `undefined` when a parameter without a default
 * was not sent. Every value was checked against its spec when the request was read.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseQuery } from "./params.ts";
 * const specs = {
 *   seed: { kind: "int", min: 0, max: 99 },
 *   model: { kind: "choice", values: ["a", "b"], default: "a" },
 * } as const;
 * const q = parseQuery(new URLSearchParams("seed=7"), specs);
 * const seed: number | undefined = q.get("seed");
 * const model: "a" | "b" = q.get("model");
 * assert.deepEqual([seed, model], [7, "a"]);
 * ```
 */
export class Query<S extends ParamSpecs> {
  readonly #values: Params;

  /**
   * Wraps values already validated against `S` (use `parseQuery` or `parseFields`).
   * @param values The values by name.
   */
  constructor(values: Params) {
    this.#values = values;
  }

  /** A number parameter with a default. */
  get<K extends KeysOf<S, { kind: "int" | "number"; default: number }>>(name: K): number;
  /** A number parameter without a default. */
  get<K extends KeysOf<S, { kind: "int" | "number" }>>(name: K): number | undefined;
  /** A choice with a default. */
  get<K extends KeysOf<S, { kind: "choice"; default: string }>>(name: K): ChoiceOf<S[K]>;
  /** A choice without a default. */
  get<K extends KeysOf<S, { kind: "choice" }>>(name: K): ChoiceOf<S[K]> | undefined;
  /** A vector. */
  get<K extends KeysOf<S, { kind: "vector" }>>(name: K): number[] | undefined;
  /**
   * The value of a parameter.
   * @param name Its name.
   * @returns Its value (undefined when absent and without a default).
   */
  get(name: string): number | string | number[] | undefined {
    return this.#values[name];
  }

  /** Whether the request gave `name` (or it has a default). */
  has(name: keyof S & string): boolean {
    return this.#values[name] !== undefined;
  }

  /** All values by name (defaults filled in), for logs and tests. */
  values(): Params {
    return { ...this.#values };
  }
}

/**
 * Reads a query string against the endpoint's parameters.
 *
 * @param query The URL's search parameters.
 * @param specs The parameters the endpoint takes.
 * @returns The values (defaults filled in).
 */
export function parseQuery<S extends ParamSpecs>(query: URLSearchParams, specs: S): Query<S> {
  const out: Params = {};
  const seen = new Set<string>();
  for (const [name, raw] of query) {
    if (!Object.hasOwn(specs, name)) {
      const names = Object.keys(specs);
      throw new BadRequest(
        `Unknown parameter ${JSON.stringify(name.slice(0, 40))}; this endpoint takes ${names.join(", ") || "none"}`,
        { parameter: name.slice(0, 40), allowed: names.join(", ") },
      );
    }
    if (seen.has(name)) {
      throw new BadRequest(`${name} is given twice; give it once`, {
        parameter: name,
        allowed: allowedText(specs[name]),
      });
    }
    seen.add(name);
    out[name] = parseValue(name, raw, specs[name]);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (!seen.has(name) && spec.kind !== "vector" && spec.default !== undefined) out[name] = spec.default;
  }
  return new Query<S>(out);
}

/**
 * Reads a JSON object's fields against the endpoint's parameters (numbers as numbers, names as
 * strings, vectors as arrays); fields not in `specs` are refused.
 *
 * @param body The parsed JSON.
 * @param specs The parameters.
 * @param skip Fields the caller reads itself.
 * @returns The values (defaults filled in).
 */
export function parseFields<S extends ParamSpecs>(
  body: Record<string, unknown>,
  specs: S,
  skip: readonly string[],
): Query<S> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) {
    if (skip.includes(k)) continue;
    if (Object.hasOwn(specs, k) && !["number", "string"].includes(typeof v)) {
      throw new BadRequest(`${k} must be ${allowedText(specs[k])}, got ${typeof v}`, {
        parameter: k,
        allowed: allowedText(specs[k]),
      });
    }
    query.append(k, String(v));
  }
  return parseQuery(query, specs);
}
