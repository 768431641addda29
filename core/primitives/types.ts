/**
 * The primitive protocol: every primitive declares its shape rule, jvp rule, batching rule
 * and (linear primitives only) transpose rule in one place; a structural primitive also
 * declares how it runs (`run`, on the executor's buffers). The mapped type `Rules` makes a
 * missing rule a compile error.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import type { Eqn, Jaxpr } from "../ir.ts";
import type { KernelName, KernelParams, NoParams, PrimName, StructuralName } from "./params.ts";

export type { KernelName, NoParams, PrimName, StructuralName };

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
  /**
   * How a structural primitive runs, on whatever backend holds its inputs: buffers in,
   * buffers out, through the executor's buffer model. Primitives without it run a kernel.
   */
  run?<B>(buffers: Buffers<B>, ins: B[], params: P): B[];
}

/** The rules of a structural primitive: it runs on the executor's buffers, never as a kernel. */
export interface StructuralRule<P> extends Rule<P> {
  run<B>(buffers: Buffers<B>, ins: B[], params: P): B[];
}

/**
 * What a structural primitive's `run` works with: a backend's buffer model and its program
 * executor. Buffers passed to `run` stay held by the caller; the buffers `run` returns carry
 * one hold each for the caller (`retain`/`release` count holds; a garbage-collected model,
 * such as cpu's, may make them no-ops).
 */
export interface Buffers<B = unknown> {
  /** Runs program `j` on `ins` with the backend's kernels; the outputs carry one hold each. */
  program(j: Jaxpr, ins: B[]): B[];
  /** A new buffer for a value of `aval`, with one hold. */
  alloc(aval: Aval): B;
  /** Row `t` of `x` (whose rows have aval `row`), with one hold: a copy or a view. */
  row(x: B, row: Aval, t: number): B;
  /** Copies `src` (of aval `row`) into row `t` of `dst`. */
  setRow(dst: B, src: B, row: Aval, t: number): void;
  /** Adds a hold on `b`. */
  retain(b: B): void;
  /** Drops a hold on `b`. */
  release(b: B): void;
  /**
   * Results that arrays can own: where each array owns its storage (cpu), copies of the
   * results that share storage with an input or an earlier result; where buffers are
   * counted (webgpu), the results as they are.
   */
  own(outs: B[], ins: readonly B[]): B[];
  /**
   * Keeps `bufs` out of reuse until the returned function is called, even when the arrays
   * that own them are released (donated) meanwhile.
   */
  pin(bufs: B[]): () => void;
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

/** A flat forward function of a customVjp: outputs and residuals. */
export type FlatFwd = (...args: Array[]) => [Array[], Array[]];
/** A flat backward function of a customVjp: residuals and output cotangents to input cotangents. */
export type FlatBwd = (residuals: Array[], cts: Array[]) => Array[];

/** Parameters of `scan`. Body inputs: consts, carry, x slices; outputs: carry, y slices. */
export interface ScanParams {
  jaxpr: Jaxpr;
  numConsts: number;
  numCarry: number;
  length: number;
  reverse: boolean;
}

/** Parameters of the structural primitives, which carry programs. */
export interface StructureParams {
  jitCall: { jaxpr: Jaxpr; name: string; donate?: boolean[] };
  customVjpCall: { jaxpr: Jaxpr; numConsts: number; fwd: FlatFwd; bwd: FlatBwd };
  customLin: { bwd: FlatBwd; numRes: number; outAvals: Aval[] };
  scan: ScanParams;
}

/** Parameters of every primitive, keyed by name. */
export type Params = KernelParams & StructureParams;

/** Every structural name has parameters here, and nothing else does (a compile error otherwise). */
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _structuralNames: Exact<keyof StructureParams, StructuralName> = true;
void _structuralNames;

/** A complete rule table: one entry per primitive, checked by the compiler. */
export type Rules =
  & { [K in KernelName]: Rule<Params[K]> }
  & { [K in StructuralName]: StructuralRule<Params[K]> };

/** A rule table for one family of primitives. */
export type FamilyRules<F> = { [K in keyof F]: Rule<F[K]> };

/** A rule table for structural primitives (each with its `run`). */
export type StructuralRules<F> = { [K in keyof F]: StructuralRule<F[K]> };
