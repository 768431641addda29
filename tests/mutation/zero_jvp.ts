/**
 * Primitives whose jvp rule yields no tangent, with the reason: a 1 % mutant of their rule
 * changes nothing, and the gradient coverage test does not ask for them. Every other primitive
 * must be exercised by a gradient check and its mutant killed.
 * @module
 */
const constant = "piecewise constant: its derivative is zero wherever it exists";
const integer = "integer or boolean output: no tangent";

/** Primitive name → why its jvp gives no tangent. */
export const ZERO_JVP: Readonly<Record<string, string>> = {
  sign: constant,
  floor: constant,
  ceil: constant,
  round: constant,
  isnan: integer,
  not: integer,
  eq: integer,
  ne: integer,
  lt: integer,
  le: integer,
  gt: integer,
  ge: integer,
  and: integer,
  or: integer,
  xor: integer,
  shiftLeft: integer,
  shiftRightLogical: integer,
  bitcast: "reinterprets bits (used by the PRNG on integers): no tangent",
  stopGradient: "zero by definition",
  argmax: integer,
  argmin: integer,
  iota: "no inputs: a constant",
  threefry2x32: integer,
  customLin: "the linear part of a customVjp: reverse mode only (its transpose is the user's bwd; " +
    "its jvp rule throws), mutated through customVjpCall's rule",
};
