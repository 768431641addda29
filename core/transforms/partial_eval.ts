/**
 * Partial evaluation of programs: split a program into the part computable from known
 * inputs and the part that needs the unknown ones, joined by residuals. With tangents as the
 * unknowns this turns a JVP program into primal work plus a linear program (linearize).
 * @module
 */
import { type Eqn, Jaxpr, type Var } from "../ir.ts";
import { ruleOf } from "../primitives/registry.ts";

/** The two halves of a partially evaluated program. */
export interface PartialJaxpr {
  /** Known inputs → known outputs, then residuals. */
  known: Jaxpr;
  /** Residuals, then unknown inputs → unknown outputs. */
  unknown: Jaxpr;
  /** Which outputs of the original program are unknown (in `unknown`). */
  outUnknown: boolean[];
  /** Number of residuals. */
  numRes: number;
}

/**
 * Splits `j` given which inputs are unknown; outputs with `instantiate` set are forced into
 * the unknown half (a known value becomes a residual passed straight through).
 */
export function partialEvalJaxpr(
  j: Jaxpr,
  unknownIn: readonly boolean[],
  instantiate: readonly boolean[] | boolean = false,
): PartialJaxpr {
  const unknown = new Set<Var>(j.inVars.filter((_, i) => unknownIn[i]));
  const knownEqns: Eqn[] = [];
  const unknownEqns: Eqn[] = [];
  for (const e of j.eqns) {
    const ui = e.inputs.map((v) => unknown.has(v));
    if (!ui.some(Boolean)) {
      knownEqns.push(e);
      continue;
    }
    const pe = ruleOf(e.prim).partialEval;
    if (pe && !ui.every(Boolean)) {
      const r = pe(e, ui);
      knownEqns.push(...r.known);
      unknownEqns.push(...r.unknown);
      e.outs.forEach((v, i) => r.outUnknown[i] && unknown.add(v));
    } else {
      unknownEqns.push(e);
      e.outs.forEach((v) => unknown.add(v));
    }
  }
  const inst = j.outs.map((_, i) => (typeof instantiate === "boolean" ? instantiate : instantiate[i]));
  const outUnknown = j.outs.map((v, i) => unknown.has(v) || inst[i]);
  // Residuals: known values the unknown half reads (as inputs or as instantiated outputs).
  const residuals: Var[] = [];
  const seen = new Set<Var>();
  const need = (v: Var) => {
    if (!unknown.has(v) && !seen.has(v)) {
      seen.add(v);
      residuals.push(v);
    }
  };
  unknownEqns.forEach((e) => e.inputs.forEach(need));
  j.outs.forEach((v, i) => outUnknown[i] && need(v));
  const known = new Jaxpr(
    j.inVars.filter((_, i) => !unknownIn[i]),
    knownEqns,
    [...j.outs.filter((_, i) => !outUnknown[i]), ...residuals],
  );
  const unknownJ = new Jaxpr(
    [...residuals, ...j.inVars.filter((_, i) => unknownIn[i])],
    unknownEqns,
    j.outs.filter((_, i) => outUnknown[i]),
  );
  return { known, unknown: unknownJ, outUnknown, numRes: residuals.length };
}
