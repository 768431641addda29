/**
 * The interpreter stack and `bind`, the one entry point every operation goes through.
 * With no transform active `bind` runs the backend kernel (eager); under transforms the
 * innermost interpreter handles the primitive (autodidax's design).
 * @module
 */
import { type Array, Tracer } from "./array.ts";
import type { Params, PrimName } from "./primitives/types.ts";
import { ruleOf } from "./primitives/registry.ts";
import { runEager } from "./eager.ts";

/** One active transform: its nesting level and how to make its interpreter. */
export class MainTrace {
  /** False once the transform returned: its tracers must not be used any more. */
  active = true;
  constructor(
    readonly level: number,
    readonly make: (main: MainTrace) => Trace,
    readonly global: unknown = null,
  ) {}
}

/** An interpreter: turns primitive applications on its tracers into its own tracers. */
export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Wraps a value from outside every transform. */
  abstract pure(x: Array): Array;
  /** Wraps a tracer of an outer (lower-level) transform. */
  abstract lift(x: Array): Array;
  /** Applies `prim` to this interpreter's tracers. */
  abstract process<K extends PrimName>(prim: K, args: Array[], params: Params[K]): Array[];
}

/** The base interpreter: runs primitives on concrete arrays (see eager.ts). */
class EvalTrace extends Trace {
  pure(x: Array): Array {
    return x;
  }
  lift(x: Array): Array {
    return x;
  }
  process<K extends PrimName>(prim: K, args: Array[], params: Params[K]): Array[] {
    const outAvals = ruleOf(prim).abstractEval(args.map((a) => a.aval), params);
    return runEager(prim, args, params, outAvals);
  }
}

const stack: MainTrace[] = [new MainTrace(0, (m) => new EvalTrace(m))];
let dynamic: MainTrace = stack[0];

/** Runs `fn` with a new transform of kind `make` pushed on the stack. */
export function withMain<T>(make: (main: MainTrace) => Trace, global: unknown, fn: (main: MainTrace) => T): T {
  const main = new MainTrace(stack.length, make, global);
  stack.push(main);
  try {
    return fn(main);
  } finally {
    stack.pop();
    main.active = false;
  }
}

/** Like `withMain`, and every op inside is staged into it (jit/makeJaxpr "omnistaging"). */
export function withDynamicMain<T>(make: (main: MainTrace) => Trace, global: unknown, fn: (main: MainTrace) => T): T {
  return withMain(make, global, (main) => {
    const prev = dynamic;
    dynamic = main;
    try {
      return fn(main);
    } finally {
      dynamic = prev;
    }
  });
}

function levelOf(x: Array): number {
  return x instanceof Tracer ? x.trace.main.level : 0;
}

function findTopTrace(args: readonly Array[]): Trace {
  let top = dynamic;
  for (const a of args) {
    if (a instanceof Tracer && !(a.trace.main as MainTrace).active) {
      throw new Error(
        `A leaked tracer ${a.toString()} was used after its transform (grad/vmap/jit) returned; ` +
          `a function under a transform must return its results instead of storing tracers in outer variables`,
      );
    }
    if (a instanceof Tracer && a.trace.main.level > top.level) top = a.trace.main as MainTrace;
  }
  return top.make(top);
}

/** Brings `x` into `trace`, lifting concrete values and outer tracers. */
export function fullRaise(trace: Trace, x: Array): Array {
  const level = levelOf(x);
  if (!(x instanceof Tracer)) return trace.main.level === 0 ? x : trace.pure(x);
  if (x.trace.main === trace.main) return x;
  if (level < trace.main.level) return trace.lift(x);
  throw new Error(
    `A traced value escaped its transform (level ${level} seen inside level ${trace.main.level}); ` +
      `a function under grad/vmap/jit must not stash tracers in outer variables`,
  );
}

/** Applies a primitive: the single entry point of every operation. */
export function bind<K extends PrimName>(prim: K, args: readonly Array[], params: Params[K]): Array[] {
  const trace = findTopTrace(args);
  const raised = args.map((a) => fullRaise(trace, a));
  return trace.process(prim, raised, params).map(fullLower);
}

/** `bind` for single-output primitives. */
export function bind1<K extends PrimName>(prim: K, args: readonly Array[], params: Params[K]): Array {
  return bind(prim, args, params)[0];
}

/** Lowers a tracer that no longer needs its interpreter (e.g. an unbatched vmap value). */
export function fullLower(x: Array): Array {
  return x instanceof Tracer && "lower" in x && typeof x.lower === "function" ? x.lower() : x;
}

/** The current depth of the transform stack (0 when nothing is being traced). */
export function currentLevel(): number {
  return stack.length - 1;
}
