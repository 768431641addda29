/**
 * The closed primitive set: every primitive's name and the parameters it takes, as types
 * only. It sits at the bottom of the import graph so that the IR, the rule protocol, the
 * tracer and the backends' kernel tables can all name primitives without importing rules.
 * The structural primitives (which carry programs) are named here; their parameters, which
 * hold programs, are declared in `types.ts` beside the IR they need.
 * @module
 */
import type { DType } from "../dtype.ts";

/** Parameters of primitives that take none. */
export type NoParams = Record<string, never>;

/** The unary elementwise primitives. */
export type UnaryName =
  | "neg"
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sin"
  | "cos"
  | "tanh"
  | "logistic"
  | "sqrt"
  | "rsqrt"
  | "abs"
  | "sign"
  | "floor"
  | "ceil"
  | "round"
  | "erf"
  | "isnan"
  | "not";

/** The binary elementwise primitives. */
export type BinaryName =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "max"
  | "min"
  | "atan2"
  | "rem"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "and"
  | "or"
  | "xor"
  | "shiftLeft"
  | "shiftRightLogical";

/** Parameters of the elementwise primitives. */
export type ElementwiseParams =
  & { [K in UnaryName | BinaryName | "select" | "stopGradient"]: NoParams }
  & { convert: { dtype: DType }; bitcast: { dtype: DType } };

/** The elementwise primitives: one output element from the same element of each input. */
export type ElementwiseName = keyof ElementwiseParams;

/** Parameters of the reductions, the arg reductions and `cumsum`. */
export interface ReduceParams {
  reduceSum: { axes: number[] };
  reduceMax: { axes: number[] };
  reduceMin: { axes: number[] };
  reduceProd: { axes: number[] };
  argmax: { axis: number };
  argmin: { axis: number };
  cumsum: { axis: number; reverse: boolean };
}

/** Parameters of the movement primitives. */
export interface MovementParams {
  reshape: { shape: number[] };
  broadcastInDim: { shape: number[]; dims: number[] };
  transpose: { perm: number[] };
  slice: { start: number[]; limit: number[]; strides: number[] };
  pad: { lo: number[]; hi: number[]; interior: number[] };
  concatenate: { axis: number };
  rev: { axes: number[] };
  iota: { shape: number[]; dtype: DType; dimension: number };
}

/** Parameters of the indexing primitives. */
export interface IndexingParams {
  gather: { axis: number };
  scatterAdd: { axis: number };
  dynamicSlice: { sizes: number[] };
  dynamicUpdateSlice: Record<string, never>;
}

/** Dimension numbers of `dotGeneral`: contracting and batch axes of each side. */
export interface DotDims {
  contract: [number[], number[]];
  batch: [number[], number[]];
}
/** Parameters of convolution in canonical layout. */
export interface ConvParams {
  strides: number[];
  padding: [number, number][];
  lhsDilation: number[];
  rhsDilation: number[];
  featureGroupCount: number;
  batchGroupCount: number;
}
/** Parameters of the contraction primitives. */
export interface ContractParams {
  dotGeneral: DotDims;
  convGeneralDilated: ConvParams;
}

/** The window geometry shared by the window primitives. */
export interface Window {
  window: number[];
  strides: number[];
  padding: [number, number][];
}
/** Parameters of the window primitives. */
export interface WindowParams {
  reduceWindow: Window & { op: "sum" | "max" };
  selectAndGather: Window;
  selectAndScatterAdd: Window;
}

/** Parameters of the random primitives. */
export interface RandomParams {
  threefry2x32: NoParams;
}

/** Parameters of the primitives a backend runs with a kernel of its own. */
export type KernelParams =
  & ElementwiseParams
  & ReduceParams
  & MovementParams
  & IndexingParams
  & ContractParams
  & WindowParams
  & RandomParams;

/** The primitives a backend provides kernels for. */
export type KernelName = keyof KernelParams;

/**
 * The structural primitives: they carry programs and run them through the executor (their
 * rules' `run` hook), never through a kernel of their own.
 */
export type StructuralName = "jitCall" | "customVjpCall" | "customLin" | "scan";

/** The closed set of primitive names. */
export type PrimName = KernelName | StructuralName;
