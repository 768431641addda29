/**
 * The primitive protocol: every primitive declares its shape rule, jvp rule, batching rule
 * and (linear primitives only) transpose rule in one place. The mapped type `Rules` makes a
 * missing rule a compile error.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import type { Eqn } from "../ir.ts";
import type { ElementwiseParams } from "./elementwise.ts";
import type { ReduceParams } from "./reduce.ts";
import type { MovementParams } from "./movement.ts";
import type { IndexingParams } from "./indexing.ts";
import type { ContractParams } from "./contract.ts";
import type { WindowParams } from "./window.ts";
import type { RandomParams } from "./random.ts";
import type { StructureParams } from "./structure.ts";

/** A symbolic zero tangent or cotangent: costs nothing and keeps unused inputs free. */
export class Zero {
  constructor(readonly aval: Aval) {}
}

/** Marks an input a transpose rule solves for (its value is unknown). */
export class LinearIn {
  constructor(readonly aval: Aval) {}
}

/** A tangent or cotangent: a value or a symbolic zero. */
export type Tangent = Array | Zero;
/** A batch dimension, or `null` for an unbatched value. */
export type Dim = number | null;

/** All the math of one primitive. */
export interface Rule<P> {
  /** Output shapes and dtypes, or an error naming the op and the shapes. */
  abstractEval(avals: readonly Aval[], params: P): Aval[];
  /** Forward-mode rule: primal outputs and their tangents. */
  jvp(primals: Array[], tangents: Tangent[], params: P): [Array[], Tangent[]];
  /** Batching rule: outputs and their batch dimensions. */
  batch(args: Array[], dims: Dim[], params: P, size: number): [Array[], Dim[]];
  /** Transpose rule of a linear primitive: cotangents for the `LinearIn` inputs. */
  transpose?(cts: Tangent[], args: (Array | LinearIn)[], params: P): (Tangent | null)[];
  /** Splits an equation with some unknown inputs into known and unknown parts (structured primitives). */
  partialEval?(eqn: Eqn, unknownIn: boolean[]): PartialEqn;
}

/** The result of partially evaluating one equation. */
export interface PartialEqn {
  /** Equations computable from known inputs (they may define residual variables). */
  known: Eqn[];
  /** Equations that need unknown inputs. */
  unknown: Eqn[];
  /** Which outputs of the original equation are unknown. */
  outUnknown: boolean[];
}

/** Parameters of every primitive, keyed by name. */
export type Params =
  & ElementwiseParams
  & ReduceParams
  & MovementParams
  & IndexingParams
  & ContractParams
  & WindowParams
  & RandomParams
  & StructureParams;

/** The closed set of primitive names. */
export type PrimName = keyof Params;

/** A complete rule table: one entry per primitive, checked by the compiler. */
export type Rules = { [K in PrimName]: Rule<Params[K]> };

/** A rule table for one family of primitives. */
export type FamilyRules<F> = { [K in keyof F]: Rule<F[K]> };

/** Parameters of primitives that take none. */
export type NoParams = Record<string, never>;
