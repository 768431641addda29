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
  | { kind: "int"; min: number; max: number; default?: number }
  | { kind: "number"; min: number; max: number; default?: number }
  | { kind: "choice"; values: readonly string[]; default?: string }
  | { kind: "vector"; min: number; max: number; maxLength: number };

/** The values read: numbers, names, vectors; absent optional parameters are undefined. */
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

/**
 * Reads a query string against the endpoint's parameters.
 *
 * @param query The URL's search parameters.
 * @param specs The parameters the endpoint takes.
 * @returns The values (defaults filled in).
 */
export function parseQuery(query: URLSearchParams, specs: Record<string, ParamSpec>): Params {
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
    if (!seen.has(name) && "default" in spec) out[name] = spec.default;
  }
  return out;
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
export function parseFields(body: Record<string, unknown>, specs: Record<string, ParamSpec>, skip: string[]): Params {
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
