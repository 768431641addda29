/**
 * The traced program (Jaxpr-like): typed variables and equations. Printing lives in
 * `ir_print.ts`, evaluation in `eval.ts`, and the simplifications jit applies in `passes/`.
 * @module
 */
import type { Array, Aval } from "./array.ts";
import type { PrimName } from "./primitives/params.ts";
import { printJaxpr } from "./ir_print.ts";

let nextId = 0;
/** A typed variable of a traced program. */
export class Var {
  /** Unique id (for printing and keys). */
  readonly id: number = nextId++;
  constructor(readonly aval: Aval) {}
}

/** One primitive application: `outs = prim[params](inputs)`. */
export interface Eqn {
  /** The primitive. */
  prim: PrimName;
  /** Its operands. */
  inputs: Var[];
  /** Its parameters (a `Params[prim]` record; see primitives/types.ts). */
  params: object;
  /** Its results. */
  outs: Var[];
}

/** A traced program: inputs, equations in order, outputs. Constants are leading inputs. */
export class Jaxpr {
  /** A program from its input variables, equations and output variables. */
  constructor(
    /** @ignore Input variables (constants first). */
    readonly inVars: Var[],
    /** @ignore Equations in order. */
    readonly eqns: Eqn[],
    /** @ignore Output variables. */
    readonly outs: Var[],
  ) {}
  /** Readable listing, e.g. `{ lambda a:f32[3]. let b:f32[3] = exp a in (b) }`. */
  toString(): string {
    return printJaxpr(this);
  }
  /** Output avals. */
  get outAvals(): Aval[] {
    return this.outs.map((v) => v.aval);
  }
  /** Input avals. */
  get inAvals(): Aval[] {
    return this.inVars.map((v) => v.aval);
  }
}

/** A program with the values of its leading constant inputs. */
export interface ClosedJaxpr {
  /** The program (first `consts.length` inputs are constants). */
  jaxpr: Jaxpr;
  /** Values of the constant inputs. */
  consts: Array[];
}
