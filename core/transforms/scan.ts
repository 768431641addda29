/**
 * `scan`: a loop over the leading axis of `xs` threading a carry, with a body program.
 * Its rules transform the body: JVP and batching find the carries that become
 * differentiated/batched by fixed point; partial evaluation splits the loop into a known
 * loop that stacks residuals and an unknown (linear) loop; transposition runs the
 * transposed body in reverse. How it runs (`run`) is one loop for every backend: rows of
 * `xs` in, the body program, rows of `ys` out, on the executor's buffer model.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import { type Eqn, Jaxpr, Var } from "../ir.ts";
import { avalStr } from "../ir_print.ts";
import { shapeEq } from "../shape.ts";
import { moveBdim } from "../primitives/batching.ts";
import { add, bind, full, instantiate, moveAxis } from "../primitives/ops.ts";
import {
  type Buffers,
  LinearIn,
  type ScanParams,
  type StructuralRule,
  type Tangent,
  Zero,
} from "../primitives/types.ts";
import { jvpJaxpr, vmapJaxpr } from "./jaxpr_transforms.ts";
import { partialEvalJaxpr } from "./partial_eval.ts";
import { traceFlat } from "./staging.ts";
import { backwardPass } from "./transpose.ts";

export type { ScanParams };

const stacked = (a: Aval, n: number): Aval => ({ shape: [n, ...a.shape], dtype: a.dtype });
const pick = <T>(xs: readonly T[], mask: readonly boolean[], want = true) => xs.filter((_, i) => mask[i] === want);
const orMask = (a: boolean[], b: boolean[]) => a.map((x, i) => x || b[i]);
const sameMask = (a: boolean[], b: boolean[]) => a.every((x, i) => x === b[i]);

function groups<T>(xs: readonly T[], p: ScanParams): [T[], T[], T[]] {
  return [
    xs.slice(0, p.numConsts),
    xs.slice(p.numConsts, p.numConsts + p.numCarry),
    xs.slice(p.numConsts + p.numCarry),
  ];
}

/** Reorders a program's inputs and outputs (variables are shared, so this is free). */
function reorder(j: Jaxpr, inVars: Var[], outs: Var[]): Jaxpr {
  return new Jaxpr(inVars, j.eqns, outs);
}

function scanJvp(primals: Array[], tangents: Tangent[], p: ScanParams): [Array[], Tangent[]] {
  const nz = tangents.map((t) => !(t instanceof Zero));
  const [nzC, nzCarry0, nzX] = groups(nz, p);
  let nzCarry = nzCarry0;
  for (;;) {
    const { nonzerosOut } = jvpJaxpr(p.jaxpr, [...nzC, ...nzCarry, ...nzX]);
    const next = orMask(nzCarry, nonzerosOut.slice(0, p.numCarry));
    if (sameMask(next, nzCarry)) break;
    nzCarry = next;
  }
  const nzIn = [...nzC, ...nzCarry, ...nzX];
  const inst = [...nzCarry, ...p.jaxpr.outs.slice(p.numCarry).map(() => false)];
  const { closed, nonzerosOut } = jvpJaxpr(p.jaxpr, nzIn, inst);
  const j = closed.jaxpr;
  const nk = closed.consts.length;
  const n = p.jaxpr.inVars.length;
  const primalVars = j.inVars.slice(nk, nk + n);
  const tanVars = j.inVars.slice(nk + n);
  const tanOf = (lo: number, hi: number) => {
    const before = nzIn.slice(0, lo).filter(Boolean).length;
    const count = nzIn.slice(lo, hi).filter(Boolean).length;
    return tanVars.slice(before, before + count);
  };
  const [nc, ncar] = [p.numConsts, p.numCarry];
  const inVars = [
    ...j.inVars.slice(0, nk),
    ...primalVars.slice(0, nc),
    ...tanOf(0, nc),
    ...primalVars.slice(nc, nc + ncar),
    ...tanOf(nc, nc + ncar),
    ...primalVars.slice(nc + ncar),
    ...tanOf(nc + ncar, n),
  ];
  const nOut = p.jaxpr.outs.length;
  const nzYs = nonzerosOut.slice(ncar);
  const outP = j.outs.slice(0, nOut);
  const outT = j.outs.slice(nOut);
  const nTc = nzCarry.filter(Boolean).length;
  const body = reorder(j, inVars, [
    ...outP.slice(0, ncar),
    ...outT.slice(0, nTc),
    ...outP.slice(ncar),
    ...outT.slice(nTc),
  ]);
  const [pc, pcar, px] = groups(primals, p);
  const [tc, tcar, tx] = groups(tangents, p);
  const args = [
    ...closed.consts,
    ...pc,
    ...(pick(tc, nzC) as Array[]),
    ...pcar,
    ...pick(tcar, nzCarry).map(instantiate),
    ...px,
    ...(pick(tx, nzX) as Array[]),
  ];
  const outs = bind("scan", args, {
    ...p,
    jaxpr: body,
    numConsts: nk + nc + nzC.filter(Boolean).length,
    numCarry: ncar + nTc,
  });
  const carryOut = outs.slice(0, ncar);
  const tCarry = outs.slice(ncar, ncar + nTc);
  const ys = outs.slice(ncar + nTc, ncar + nTc + (nOut - ncar));
  const tYs = outs.slice(ncar + nTc + (nOut - ncar));
  let kc = 0;
  let ky = 0;
  const tOut: Tangent[] = [
    ...carryOut.map((o, i) => (nzCarry[i] ? tCarry[kc++] : new Zero(o.aval))),
    ...ys.map((o, i) => (nzYs[i] ? tYs[ky++] : new Zero(o.aval))),
  ];
  return [[...carryOut, ...ys], tOut];
}

function scanBatch(args: Array[], dims: (number | null)[], p: ScanParams, size: number): [Array[], (number | null)[]] {
  const [dc, dcar, dx] = groups(dims, p);
  const xSliceDims = dx.map((d) => (d === null ? null : 0));
  let cb = dcar.map((d) => d !== null);
  const ys = p.jaxpr.outs.slice(p.numCarry).map(() => false);
  for (;;) {
    const { outBatched } = vmapJaxpr(p.jaxpr, size, [...dc, ...cb.map((b) => (b ? 0 : null)), ...xSliceDims], [
      ...cb,
      ...ys,
    ]);
    const next = orMask(cb, outBatched.slice(0, p.numCarry));
    if (sameMask(next, cb)) break;
    cb = next;
  }
  const { closed, outBatched } = vmapJaxpr(p.jaxpr, size, [...dc, ...cb.map((b) => (b ? 0 : null)), ...xSliceDims], [
    ...cb,
    ...ys,
  ]);
  const [ac, acar, ax] = groups(args, p);
  const carry = acar.map((a, i) => (cb[i] ? moveBdim(a, dcar[i], 0, size) : a));
  const xs = ax.map((a, i) => (dx[i] === null ? a : moveAxis(a, dx[i] as number, 1)));
  const outs = bind("scan", [...closed.consts, ...ac, ...carry, ...xs], {
    ...p,
    jaxpr: closed.jaxpr,
    numConsts: closed.consts.length + p.numConsts,
  });
  return [outs, outBatched.map((b, i) => (!b ? null : i < p.numCarry ? 0 : 1))];
}

function scanPartialEval(eqn: Eqn, unknownIn: boolean[]) {
  const p = eqn.params as ScanParams;
  const [uc, ucar0, ux] = groups(unknownIn, p);
  let ucar = ucar0;
  const nY = p.jaxpr.outs.length - p.numCarry;
  const noY = new globalThis.Array<boolean>(nY).fill(false);
  let pe = partialEvalJaxpr(p.jaxpr, [...uc, ...ucar, ...ux], [...ucar, ...noY]);
  for (;;) {
    const next = orMask(ucar, pe.outUnknown.slice(0, p.numCarry));
    if (sameMask(next, ucar)) break;
    ucar = next;
    pe = partialEvalJaxpr(p.jaxpr, [...uc, ...ucar, ...ux], [...ucar, ...noY]);
  }
  const uys = pe.outUnknown.slice(p.numCarry);
  const res = pe.unknown.inVars.slice(0, pe.numRes);
  const bodyConsts = p.jaxpr.inVars.slice(0, p.numConsts);
  const invariant = res.map((r) => {
    const i = bodyConsts.indexOf(r);
    return i >= 0 && !uc[i] ? i : -1;
  });
  const loopRes = res.filter((_, i) => invariant[i] < 0);
  const nKnownOut = pe.known.outs.length - pe.numRes;
  const knownBody = new Jaxpr(pe.known.inVars, pe.known.eqns, [...pe.known.outs.slice(0, nKnownOut), ...loopRes]);
  const resStacked = loopRes.map((r) => new Var(stacked(r.aval, p.length)));
  const [ic, icar, ix] = groups(eqn.inputs, p);
  const [ocar, oys] = [eqn.outs.slice(0, p.numCarry), eqn.outs.slice(p.numCarry)];
  const known: Eqn = {
    prim: "scan",
    inputs: [...pick(ic, uc, false), ...pick(icar, ucar, false), ...pick(ix, ux, false)],
    params: { ...p, jaxpr: knownBody, numConsts: pick(ic, uc, false).length, numCarry: pick(icar, ucar, false).length },
    outs: [...pick(ocar, ucar, false), ...pick(oys, uys, false), ...resStacked],
  };
  const uIn = pe.unknown.inVars.slice(pe.numRes);
  const [nuc, nucar] = [uc.filter(Boolean).length, ucar.filter(Boolean).length];
  const invRes = res.filter((_, i) => invariant[i] >= 0);
  const unknownBody = reorder(pe.unknown, [
    ...invRes,
    ...uIn.slice(0, nuc),
    ...uIn.slice(nuc, nuc + nucar),
    ...uIn.slice(nuc + nucar),
    ...loopRes,
  ], pe.unknown.outs);
  const unknown: Eqn = {
    prim: "scan",
    inputs: [
      ...invariant.filter((i) => i >= 0).map((i) => ic[i]),
      ...pick(ic, uc),
      ...pick(icar, ucar),
      ...pick(ix, ux),
      ...resStacked,
    ],
    params: { ...p, jaxpr: unknownBody, numConsts: invRes.length + nuc, numCarry: nucar },
    outs: [...pick(ocar, ucar), ...pick(oys, uys)],
  };
  return { known: [known], unknown: [unknown], outUnknown: [...ucar, ...uys] };
}

function scanTranspose(cts: Tangent[], args: (Array | LinearIn)[], p: ScanParams): (Tangent | null)[] {
  const [ac, acar, ax] = groups(args, p);
  // A carry that enters as a known value (an instantiated zero tangent) is treated as linear, like JAX.
  const linC = ac.map((a) => a instanceof LinearIn);
  const linX = ax.map((a) => a instanceof LinearIn);
  const resC = pick(ac, linC, false) as Array[];
  const resX = pick(ax, linX, false) as Array[];
  const ctCarry = cts.slice(0, p.numCarry).map(instantiate);
  const ctYs = cts.slice(p.numCarry).map(instantiate);
  const body = p.jaxpr;
  const bodyIn = body.inAvals;
  const [bc, bcar, bx] = groups(bodyIn, p);
  const linCAvals = pick(bc, linC);
  const mask = [...linC, ...bcar.map(() => true), ...linX];
  const nRC = resC.length;
  const nLC = linCAvals.length;
  const closed = traceFlat((...ins) => {
    const rc = ins.slice(0, nRC);
    const acc = ins.slice(nRC, nRC + nLC);
    const ctc = ins.slice(nRC + nLC, nRC + nLC + p.numCarry);
    const rx = ins.slice(nRC + nLC + p.numCarry, nRC + nLC + p.numCarry + resX.length);
    const cty = ins.slice(nRC + nLC + p.numCarry + resX.length);
    let kc = 0;
    let kx = 0;
    const vals = [
      ...linC.map((l) => (l ? null : rc[kc++])),
      ...bcar.map(() => null),
      ...linX.map((l) => (l ? null : rx[kx++])),
    ];
    const res = backwardPass(body, mask, vals, [...ctc, ...cty]);
    const z = (c: Tangent | null, a: Aval) => (c === null || c instanceof Zero ? full(a, 0) : c);
    const [gc, gcar, gx] = groups(res, p);
    const newAcc = pick(gc, linC).map((c, i) => add(acc[i], z(c, linCAvals[i])));
    return [...newAcc, ...gcar.map((c, i) => z(c, bcar[i])), ...pick(gx, linX).map((c, i) => z(c, pick(bx, linX)[i]))];
  }, [
    ...pick(bc, linC, false),
    ...linCAvals,
    ...pick(body.outAvals, body.outs.map((_, i) => i < p.numCarry)),
    ...pick(bx, linX, false),
    ...body.outAvals.slice(p.numCarry),
  ]);
  const outs = bind("scan", [
    ...closed.consts,
    ...resC,
    ...linCAvals.map((a) => full(a, 0)),
    ...ctCarry,
    ...resX,
    ...ctYs,
  ], {
    jaxpr: closed.jaxpr,
    numConsts: closed.consts.length + nRC,
    numCarry: nLC + p.numCarry,
    length: p.length,
    reverse: !p.reverse,
  });
  const gC = outs.slice(0, nLC);
  const gCarry = outs.slice(nLC, nLC + p.numCarry);
  const gX = outs.slice(nLC + p.numCarry);
  let i = 0;
  let k = 0;
  const carryCts = gCarry.map((g, j) => (acar[j] instanceof LinearIn ? g : null));
  return [...linC.map((l) => (l ? gC[i++] : null)), ...carryCts, ...linX.map((l) => (l ? gX[k++] : null))];
}

/**
 * Runs the loop on a backend's buffers: each step reads row `t` of every `xs`, runs the body
 * on the constants, the carry and those rows, and writes its `ys` into row `t` of the stacked
 * outputs (from the last row when `reverse`).
 */
function runScan<B>(buffers: Buffers<B>, ins: B[], p: ScanParams): B[] {
  const [consts, carry0, xs] = groups(ins, p);
  let carry = carry0;
  carry.forEach((b) => buffers.retain(b));
  const xAvals = p.jaxpr.inAvals.slice(p.numConsts + p.numCarry);
  const yAvals = p.jaxpr.outAvals.slice(p.numCarry);
  const ys = yAvals.map((a) => buffers.alloc(stacked(a, p.length)));
  for (let it = 0; it < p.length; it++) {
    const t = p.reverse ? p.length - 1 - it : it;
    const rows = xs.map((x, i) => buffers.row(x, xAvals[i], t));
    const outs = buffers.program(p.jaxpr, [...consts, ...carry, ...rows]);
    rows.forEach((r) => buffers.release(r));
    carry.forEach((b) => buffers.release(b));
    carry = outs.slice(0, p.numCarry);
    outs.slice(p.numCarry).forEach((y, i) => {
      buffers.setRow(ys[i], y, yAvals[i], t);
      buffers.release(y);
    });
  }
  return [...carry, ...ys];
}

/** The rule set of `scan`. */
export const scanRule: StructuralRule<ScanParams> = {
  abstractEval(avals, p) {
    const j = p.jaxpr;
    const where = "scan";
    const [c, car, xs] = groups(avals, p);
    const [bc, bcar, bx] = groups(j.inAvals, p);
    const bad = (a: Aval, b: Aval) => a.dtype !== b.dtype || !shapeEq(a.shape, b.shape);
    c.forEach((a, i) => {
      if (bad(a, bc[i])) throw new Error(`${where}: constant ${i} is ${avalStr(a)}, body expects ${avalStr(bc[i])}`);
    });
    car.forEach((a, i) => {
      if (bad(a, bcar[i])) throw new Error(`${where}: carry ${i} is ${avalStr(a)}, body expects ${avalStr(bcar[i])}`);
      if (bad(a, j.outAvals[i])) {
        throw new Error(
          `${where}: the body returns carry ${i} as ${avalStr(j.outAvals[i])} but takes ${
            avalStr(a)
          }; keep carry shapes and dtypes fixed`,
        );
      }
    });
    xs.forEach((a, i) => {
      if (bad(a, stacked(bx[i], p.length))) {
        throw new Error(
          `${where}: xs ${i} is ${avalStr(a)}, expected ${avalStr(stacked(bx[i], p.length))} (length ${p.length})`,
        );
      }
    });
    return [...j.outAvals.slice(0, p.numCarry), ...j.outAvals.slice(p.numCarry).map((a) => stacked(a, p.length))];
  },
  jvp: scanJvp,
  batch: scanBatch,
  partialEval: scanPartialEval,
  transpose: scanTranspose,
  run: runScan,
};
