/**
 * The layer protocol (a pair of pure functions, stax style), `shapeOf`, `fromFunction` and
 * `serial` composition. The layers themselves live beside it: linear.ts, pooling.ts,
 * normalization.ts, reshape.ts, dropout.ts.
 * @module
 */
import { type Array, type DType, evalShape, random, type tree } from "../mod.ts";

/** Options every layer's `apply` takes. */
export interface ApplyOptions<S = null> {
  /** A PRNG key, for layers that draw randomness (dropout); `serial` splits it per layer. */
  key?: Array;
  /** Training mode: dropout active, batch norm uses and updates batch statistics (default false). */
  training?: boolean;
  /** The layer's state (batch-norm running statistics), as `init` or the last `apply` returned it. */
  state?: S;
}

/** What `init` returns: parameters, state (null for stateless layers) and the output shape. */
export interface Initialized<P, S> {
  /** The parameter pytree. */
  params: P;
  /** The non-trainable state (null for stateless layers). */
  state: S;
  /** The output shape for the given input shape (batch axis included). */
  outputShape: number[];
}

/** `apply`'s result: the output, or `[output, newState]` for a stateful layer. */
export type Output<S> = [S] extends [null] ? Array : [Array, S];

/**
 * A layer: `init(key, inputShape)` makes parameters (and state) for inputs of `inputShape`
 * (batch axis first), and `apply(params, x, opts)` is the pure forward pass. Stateless layers
 * return the output; stateful ones (batch norm) return `[output, newState]`.
 */
export interface Layer<P extends tree.PyTree = tree.PyTree, S extends tree.PyTree = null> {
  /** Makes parameters and state for inputs of `inputShape`. */
  init(key: Array, inputShape: number[]): Initialized<P, S>;
  /** The forward pass. */
  apply(params: P, x: Array, opts?: ApplyOptions<S>): Output<S>;
}

/** A plain function used as a parameter-free layer (e.g. `relu`). */
export type LayerFn = (x: Array) => Array;
/** Anything `serial` accepts: a layer or a plain function. */
// deno-lint-ignore no-explicit-any
export type AnyLayer = Layer<any, any> | LayerFn;
/** The parameter type of a layer (null for a plain function). */
// deno-lint-ignore no-explicit-any
export type LayerParams<L> = L extends Layer<infer P, any> ? P : null;
/** The state type of a layer (null for stateless layers and plain functions). */
// deno-lint-ignore no-explicit-any
export type LayerState<L> = L extends Layer<any, infer S> ? S : null;
/** Parameters of a `serial` stack: one entry per layer, by position or by name. */
export type SerialParams<T> = { -readonly [K in keyof T]: LayerParams<T[K]> };
/** State of a `serial` stack: null when no layer has state, else one entry per layer. */
export type SerialState<T> = [LayerState<T extends readonly unknown[] ? T[number] : T[keyof T]>] extends [null] ? null
  : { -readonly [K in keyof T]: LayerState<T[K]> };
/** A size for each of two spatial axes, or one for both. */
export type Size2 = number | [number, number];

/**
 * The output shape of `fn` for an input of `shape`, found by tracing (nothing is computed).
 *
 * @param fn A function of one array.
 * @param shape The input shape.
 * @param dtype The input dtype (default float32).
 * @returns The output shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { shapeOf } from "@wax/wax/nn";
 * assert(shapeOf((x) => x.reshape(2, -1).sum(0), [4, 6]).join() === "12");
 * ```
 */
export function shapeOf(fn: (x: Array) => Array, shape: number[], dtype: DType = "float32"): number[] {
  return [...evalShape(fn, { shape, dtype }).shape];
}

/**
 * Wraps a plain function as a parameter-free layer.
 *
 * @param fn The function of the input.
 * @returns The layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { fromFunction } from "@wax/wax/nn";
 * const double = fromFunction((x) => x.mul(2));
 * const { params, outputShape } = double.init(random.key(0), [4, 3]);
 * assert(params === null && outputShape.join() === "4,3");
 * assert((await double.apply(null, np.ones([1])).item()) === 2);
 * ```
 */
export function fromFunction(fn: LayerFn): Layer<null, null> {
  return {
    init: (_key, inputShape) => ({ params: null, state: null, outputShape: shapeOf(fn, inputShape) }),
    apply: (_params, x) => fn(x),
  };
}

const isLayer = (x: unknown): x is Layer =>
  typeof x === "object" && x !== null && typeof (x as Layer).init === "function" &&
  typeof (x as Layer).apply === "function";
const asLayer = (l: AnyLayer): Layer<tree.PyTree, tree.PyTree> =>
  (typeof l === "function" ? fromFunction(l) : l) as Layer<tree.PyTree, tree.PyTree>;

/**
 * Composes layers in sequence. Positional layers give list-shaped parameters
 * (`params[0]`); a record of named layers gives readable ones (`params.conv1.w`). Plain
 * functions (activations) are parameter-free layers. The key is split per layer in `init`
 * and folded with the layer's position in `apply`; stateful layers make the stack stateful.
 *
 * @param layers The layers, in order (positional, or one record of named layers).
 * @returns The composed layer.
 *
 * @example A named MLP
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { dense, relu, serial } from "@wax/wax/nn";
 * const mlp = serial({ fc1: dense(32), act: relu, fc2: dense(10) });
 * const { params, outputShape } = mlp.init(random.key(0), [8, 784]);
 * assert(params.fc1.w.shape.join() === "784,32" && outputShape.join() === "8,10");
 * const y = mlp.apply(params, np.ones([8, 784]));
 * assert(y.shape.join() === "8,10");
 * ```
 */
export function serial<T extends readonly AnyLayer[]>(...layers: T): Layer<SerialParams<T>, SerialState<T>>;
/** Composes a record of named layers (see the positional overload). */
export function serial<T extends Record<string, AnyLayer>>(layers: T): Layer<SerialParams<T>, SerialState<T>>;
export function serial(...args: unknown[]): Layer<tree.PyTree, tree.PyTree> {
  const named = args.length === 1 && typeof args[0] === "object" && args[0] !== null && !isLayer(args[0]);
  const entries: [string, Layer<tree.PyTree, tree.PyTree>][] = named
    ? Object.entries(args[0] as Record<string, AnyLayer>).map(([k, l]) => [k, asLayer(l)])
    : (args as AnyLayer[]).map((l, i) => [String(i), asLayer(l)]);
  entries.forEach(([name, l]) => {
    if (!isLayer(l)) throw new TypeError(`serial: entry ${name} is not a layer or a function`);
  });
  const pack = <V>(vals: V[]) => (named ? Object.fromEntries(entries.map(([k], i) => [k, vals[i]])) : vals);
  const pick = (t: unknown, i: number) =>
    t === null || t === undefined ? t : (t as Record<string, tree.PyTree>)[named ? entries[i][0] : i];
  return {
    init(key, inputShape) {
      const keys = entries.length ? random.split(key, entries.length) : [];
      let shape = inputShape;
      const params: tree.PyTree[] = [];
      const states: tree.PyTree[] = [];
      entries.forEach(([, l], i) => {
        const r = l.init(keys[i], shape);
        params.push(r.params);
        states.push(r.state);
        shape = r.outputShape;
      });
      const stateful = states.some((s) => s !== null);
      return {
        params: pack(params) as tree.PyTree,
        state: stateful ? pack(states) as tree.PyTree : null,
        outputShape: shape,
      };
    },
    apply(params, x, opts = {}) {
      const states: tree.PyTree[] = [];
      let stateful = false;
      let y = x;
      entries.forEach(([name, l], i) => {
        const key = opts.key ? random.foldIn(opts.key, i) : undefined;
        const state = pick(opts.state, i);
        if (state === undefined && opts.state !== undefined && opts.state !== null) {
          throw new Error(`serial: the state has no entry for layer ${name}; pass the state init returned`);
        }
        const out = l.apply(pick(params, i) as tree.PyTree, y, { key, training: opts.training, state });
        if (globalThis.Array.isArray(out)) {
          [y, states[i]] = out as [Array, tree.PyTree];
          stateful = true;
        } else {
          y = out as Array;
          states[i] = null;
        }
      });
      return (stateful ? [y, pack(states)] : y) as Output<tree.PyTree>;
    },
  };
}
