/**
 * Structured primitives that carry programs: `jitCall` (a nested jitted function),
 * `customVjpCall` (a function with a user-defined backward pass) and `customLin` (its
 * linear part under reverse mode), plus `scan` (see scan.ts). Their rules transform the
 * programs they carry, so they live with the transforms; each also says how it runs
 * (`run`), once for every backend: the executor hands it a buffer model.
 * @module
 */
import type { Array, Aval } from "../array.ts";
import { type Eqn, type Jaxpr, Var } from "../ir.ts";
import { avalStr } from "../ir_print.ts";
import { shapeEq } from "../shape.ts";
import { moveBdim } from "../primitives/batching.ts";
import { bind, instantiate } from "../primitives/ops.ts";
import {
  type FlatBwd,
  type FlatFwd,
  LinearIn,
  type StructuralRules,
  type StructureParams,
  type Tangent,
  Zero,
} from "../primitives/types.ts";
import { batchedAval, jvpJaxpr, transposeJaxpr, vmapJaxpr } from "./jaxpr_transforms.ts";
import { partialEvalJaxpr } from "./partial_eval.ts";
import { scanRule } from "./scan.ts";
import { vmapFlat } from "./vmap.ts";

/** Checks arguments against a program's inputs. */
function checkArgs(op: string, avals: readonly Aval[], j: Jaxpr) {
  if (avals.length !== j.inVars.length) {
    throw new Error(`${op}: ${avals.length} arguments for a program of ${j.inVars.length} inputs`);
  }
  avals.forEach((a, i) => {
    const b = j.inVars[i].aval;
    if (a.dtype !== b.dtype || !shapeEq(a.shape, b.shape)) {
      throw new Error(`${op}: argument ${i} is ${avalStr(a)}, expected ${avalStr(b)}`);
    }
  });
}

const splitTangents = (outs: Array[], n: number, nz: boolean[]): [Array[], Tangent[]] => {
  let k = n;
  return [outs.slice(0, n), outs.slice(0, n).map((o, i) => (nz[i] ? outs[k++] : new Zero(o.aval)))];
};

/** Runs `fn` under vmap with every input and output batched at axis 0. */
const vmapAll = (fn: (...xs: Array[]) => Array[], size: number, xs: Array[]) =>
  vmapFlat(fn, size, xs, xs.map(() => 0), true)[0];

/** Runs the carried program on the executor's buffers. */
const runProgram = <B>(buffers: { program(j: Jaxpr, ins: B[]): B[] }, ins: B[], p: { jaxpr: Jaxpr }): B[] =>
  buffers.program(p.jaxpr, ins);

/** Rules of the structured primitives. */
export const structureRules: StructuralRules<StructureParams> = {
  jitCall: {
    abstractEval(avals, { jaxpr, name }) {
      checkArgs(`jit(${name})`, avals, jaxpr);
      return jaxpr.outAvals;
    },
    jvp(primals, tangents, { jaxpr, name }) {
      const nz = tangents.map((t) => !(t instanceof Zero));
      const { closed, nonzerosOut } = jvpJaxpr(jaxpr, nz);
      const outs = bind("jitCall", [
        ...closed.consts,
        ...primals,
        ...(tangents.filter((t) => !(t instanceof Zero)) as Array[]),
      ], {
        jaxpr: closed.jaxpr,
        name: `jvp(${name})`,
      });
      return splitTangents(outs, jaxpr.outs.length, nonzerosOut);
    },
    batch(args, dims, { jaxpr, name }, size) {
      const { closed, outBatched } = vmapJaxpr(jaxpr, size, dims);
      const outs = bind("jitCall", [...closed.consts, ...args], { jaxpr: closed.jaxpr, name: `vmap(${name})` });
      return [outs, outBatched.map((b) => (b ? 0 : null))];
    },
    transpose(cts, args, { jaxpr, name }) {
      const linear = args.map((a) => a instanceof LinearIn);
      const closed = transposeJaxpr(jaxpr, linear);
      const outs = bind("jitCall", [
        ...closed.consts,
        ...(args.filter((a) => !(a instanceof LinearIn)) as Array[]),
        ...cts.map(instantiate),
      ], { jaxpr: closed.jaxpr, name: `transpose(${name})` });
      let k = 0;
      return linear.map((l) => (l ? outs[k++] : null));
    },
    partialEval(eqn, unknownIn) {
      const { jaxpr, name } = eqn.params as StructureParams["jitCall"];
      const pe = partialEvalJaxpr(jaxpr, unknownIn, false);
      const nKnownOut = pe.outUnknown.filter((u) => !u).length;
      const res = pe.known.outs.slice(nKnownOut).map((v) => new Var(v.aval));
      const known: Eqn = {
        prim: "jitCall",
        inputs: eqn.inputs.filter((_, i) => !unknownIn[i]),
        params: { jaxpr: pe.known, name: `known(${name})` },
        outs: [...eqn.outs.filter((_, i) => !pe.outUnknown[i]), ...res],
      };
      const unknown: Eqn = {
        prim: "jitCall",
        inputs: [...res, ...eqn.inputs.filter((_, i) => unknownIn[i])],
        params: { jaxpr: pe.unknown, name: `unknown(${name})` },
        outs: eqn.outs.filter((_, i) => pe.outUnknown[i]),
      };
      return { known: [known], unknown: [unknown], outUnknown: pe.outUnknown };
    },
    run: runProgram,
  },
  customVjpCall: {
    abstractEval(avals, { jaxpr }) {
      checkArgs("customVjp", avals, jaxpr);
      return jaxpr.outAvals;
    },
    jvp(primals, tangents, { jaxpr, numConsts, fwd, bwd }) {
      const [outs, res] = fwd(...primals.slice(numConsts));
      outs.forEach((o, i) => {
        const want = jaxpr.outAvals[i];
        if (!want || !shapeEq(o.aval.shape, want.shape) || o.dtype !== want.dtype) {
          throw new Error(
            `customVjp: fwd output ${i} is ${avalStr(o.aval)}, but f returns ${want ? avalStr(want) : "fewer outputs"}`,
          );
        }
      });
      const ts = tangents.slice(numConsts).map(instantiate);
      const touts = bind("customLin", [...res, ...ts], { bwd, numRes: res.length, outAvals: outs.map((o) => o.aval) });
      return [outs, touts];
    },
    batch(args, dims, { jaxpr, numConsts, fwd, bwd }, size) {
      const { closed } = vmapJaxpr(jaxpr, size, dims, jaxpr.outs.map(() => true));
      const argDims = dims.slice(numConsts);
      const bfwd: FlatFwd = (...xs) => {
        let nOut = 0;
        const [flat] = vmapFlat(
          (...ys) => {
            const [o, r] = fwd(...ys);
            nOut = o.length;
            return [...o, ...r];
          },
          size,
          xs,
          argDims,
          true,
        );
        return [flat.slice(0, nOut), flat.slice(nOut)];
      };
      const bbwd: FlatBwd = (res, cts) =>
        vmapAll((...ys) => bwd(ys.slice(0, res.length), ys.slice(res.length)), size, [...res, ...cts]);
      const outs = bind("customVjpCall", [...closed.consts, ...args], {
        jaxpr: closed.jaxpr,
        numConsts: closed.consts.length + numConsts,
        fwd: bfwd,
        bwd: bbwd,
      });
      return [outs, outs.map(() => 0)];
    },
    run: runProgram,
  },
  customLin: {
    abstractEval(_avals, { outAvals }) {
      return outAvals;
    },
    jvp() {
      throw new Error(
        "customVjp: forward-mode differentiation (jvp, jacfwd) of a customVjp function is not supported; use grad, vjp or jacrev",
      );
    },
    batch(args, dims, { bwd, numRes, outAvals }, size) {
      const bbwd: FlatBwd = (res, cts) =>
        vmapAll((...ys) => bwd(ys.slice(0, numRes), ys.slice(numRes)), size, [...res, ...cts]);
      const moved = args.map((a, i) => moveBdim(a, dims[i], 0, size));
      const outs = bind("customLin", moved, {
        bwd: bbwd,
        numRes,
        outAvals: outAvals.map((a) => batchedAval(a, 0, size)),
      });
      return [outs, outs.map(() => 0)];
    },
    transpose(cts, args, { bwd, numRes }) {
      const res = args.slice(0, numRes) as Array[];
      const grads = bwd(res, cts.map(instantiate));
      return [...res.map(() => null), ...grads];
    },
    run() {
      throw new Error(
        "customVjp: the linear part of a customVjp function cannot be evaluated forward (jvp); use grad or vjp",
      );
    },
  },
  scan: scanRule,
};
