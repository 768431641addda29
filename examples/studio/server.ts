/**
 * The studio's HTTP layer: routing, static files, bounded bodies, two bounded job queues (a fast
 * one for pictures, a slow one for latent searches, so a search never holds up the sliders),
 * NDJSON progress streams, and errors as JSON. Request values are parsed into numbers and known
 * names only; the static files are read once at startup from a fixed list, so no request value
 * ever reaches the file system.
 * @module
 */
import { np } from "../../mod.ts";
import { CancelledError, JobQueue, QueueFullError } from "./queue.ts";
import { BadRequest, type ParamSpecs, parseFields, parseQuery, type Query } from "./params.ts";
import { isPicturePath, MAX_SEED, pictureJob, type Studio, upscalePixels } from "./handlers.ts";
import { MODEL_NAMES } from "./models.ts";
import { composite, maskedError, searchLatent } from "./optimize.ts";
import { base64, imagePng, readDigitPng } from "./render.ts";
import { UPSCALE_METHODS } from "./upscale.ts";

/** Limits on the work one request may ask for. */
export const LIMITS = {
  /** Largest request body, in bytes. */
  body: 64 * 1024,
  /** Most Adam steps of one latent search. */
  steps: 300,
  /** Most starts of one latent search. */
  restarts: 20,
} as const;

/** Options of `createHandler`. */
export interface ServerOptions {
  /** Picture jobs that may wait (default 32). */
  queue?: number;
  /** Latent searches that may wait (default 4). */
  searchQueue?: number;
}

const STATIC: Record<string, [string, string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/studio.css": ["studio.css", "text/css; charset=utf-8"],
  "/studio.js": ["studio.js", "text/javascript; charset=utf-8"],
  "/draw.js": ["draw.js", "text/javascript; charset=utf-8"],
};

const SEARCH_SPECS = {
  model: { kind: "choice", values: MODEL_NAMES, default: "vae" },
  seed: { kind: "int", min: 0, max: MAX_SEED, default: 0 },
  steps: { kind: "int", min: 1, max: LIMITS.steps, default: 120 },
  restarts: { kind: "int", min: 1, max: LIMITS.restarts, default: 8 },
  prior: { kind: "number", min: 0, max: 1, default: 0.05 },
  label: { kind: "int", min: 0, max: 9 },
} as const;
const UPSCALE_SPECS = {
  factor: { kind: "choice", values: ["2", "4"], default: "2" },
  method: { kind: "choice", values: UPSCALE_METHODS, default: "net" },
} as const;

/** The message of a thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Whether a parsed JSON value is an object (not null, not a list). */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });

/** A response with a byte body. */
const bytes = (body: Uint8Array<ArrayBuffer>, headers: Record<string, string>, status = 200) =>
  new Response(body, { status, headers });

/** Reads a body of at most `LIMITS.body` bytes (413 beyond). */
async function readBody(req: Request): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= LIMITS.body)) {
    throw new BadRequest(`The body is too large (${declared.slice(0, 20)} bytes); the limit is ${LIMITS.body}`, {
      status: 413,
      parameter: "body",
      allowed: `at most ${LIMITS.body} bytes`,
    });
  }
  const reader = req.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > LIMITS.body) {
      await reader.cancel().catch(() => {});
      throw new BadRequest(`The body is too large; the limit is ${LIMITS.body} bytes`, {
        status: 413,
        parameter: "body",
      });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}

/** 784 numbers in [0, 1] from a JSON field. */
function pixelsField(body: Record<string, unknown>, name: string): Float32Array {
  const v = body[name];
  if (!Array.isArray(v) || v.length !== 784 || !v.every((x) => typeof x === "number" && x >= 0 && x <= 1)) {
    throw new BadRequest(`${name} must be a list of 784 numbers from 0 to 1 (28×28, row by row)`, {
      parameter: name,
      allowed: "784 numbers from 0 to 1",
    });
  }
  return Float32Array.from(v);
}

/**
 * A posted digit: JSON `{ pixels, mask?, ...fields }` or a 28×28 PNG (grey from red, mask from
 * alpha) with the fields in the query string.
 */
async function readDigit<S extends ParamSpecs>(
  req: Request,
  url: URL,
  specs: S,
  withMask: boolean,
): Promise<{ pixels: Float32Array; mask: Float32Array | null; params: Query<S> }> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json" && type !== "image/png") {
    throw new BadRequest(
      `Content-Type must be application/json or image/png, got ${JSON.stringify(type.slice(0, 60))}`,
      {
        status: 415,
        parameter: "content-type",
        allowed: "application/json, image/png",
      },
    );
  }
  const raw = await readBody(req);
  if (type === "image/png") {
    const png = readDigitPng(raw);
    if (!png) throw new BadRequest("The body must be a 28×28 PNG", { parameter: "body", allowed: "a 28×28 PNG" });
    return { pixels: png.pixels, mask: withMask ? png.mask : null, params: parseQuery(url.searchParams, specs) };
  }
  if (url.search) {
    throw new BadRequest("Send the fields in the JSON body, not the query string", { parameter: "query" });
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw new BadRequest("The body is not valid JSON", { parameter: "body", allowed: "a JSON object" });
  }
  if (!isObject(body)) {
    throw new BadRequest("The body must be a JSON object", { parameter: "body", allowed: "a JSON object" });
  }
  const skip = withMask ? ["pixels", "mask"] : ["pixels"];
  return {
    pixels: pixelsField(body, "pixels"),
    mask: withMask ? pixelsField(body, "mask") : null,
    params: parseFields(body, specs, skip),
  };
}

/**
 * The studio's request handler, for `Deno.serve`.
 *
 * @param studio The models.
 * @param opts Queue sizes.
 * @returns The handler and the queues (for /healthz and tests).
 */
export async function createHandler(
  studio: Studio,
  opts: ServerOptions = {},
): Promise<{ handler: (req: Request) => Promise<Response>; queues: { fast: JobQueue; slow: JobQueue } }> {
  const files = new Map<string, [Uint8Array<ArrayBuffer>, string]>();
  for (const [route, [name, type]] of Object.entries(STATIC)) {
    files.set(route, [await Deno.readFile(new URL(`./page/${name}`, import.meta.url)), type]);
  }
  const fast = new JobQueue({ concurrency: 1, capacity: opts.queue ?? 32 });
  const slow = new JobQueue({ concurrency: 1, capacity: opts.searchQueue ?? 4 });

  const health = () => ({
    ok: true,
    models: Object.fromEntries(
      MODEL_NAMES.map((m) => {
        const g = studio.generators[m];
        return [m, { latent: g.latent, classes: g.classes, steps: g.steps, small: g.small, source: g.source }];
      }),
    ),
    directions: studio.directions.map((d) => ({ name: d.name, label: d.label })),
    upscaler: { score: studio.upscaler.score, source: studio.upscaler.source },
    queue: { pictures: fast.stats(), searches: slow.stats() },
    rss: Deno.memoryUsage().rss,
    limits: LIMITS,
  });

  const search = async (req: Request, url: URL, kind: "outpaint" | "pattern"): Promise<Response> => {
    const { pixels, mask: given, params } = await readDigit(req, url, SEARCH_SPECS, kind === "outpaint");
    // The pattern maker keeps the drawn strokes; the outpainter keeps the pixels under the mask.
    const mask = given ?? pixels.map((v) => (v > 0.5 ? 1 : 0));
    const target = kind === "pattern" ? mask.slice() : pixels;
    if (!mask.some((v) => v > 0)) {
      throw new BadRequest(kind === "pattern" ? "Draw a shape first: pixels has no ink" : "mask keeps no pixel", {
        parameter: kind === "pattern" ? "pixels" : "mask",
      });
    }
    const gen = studio.generators[params.get("model")];
    const label = params.get("label");
    const steps = params.get("steps");
    if (label !== undefined && !gen.classes) {
      throw new BadRequest(`label applies only to model=cgan`, { parameter: "label", allowed: "model=cgan only" });
    }
    const ac = new AbortController();
    const stop = () => ac.abort();
    req.signal.addEventListener("abort", stop, { once: true });
    const leave = await slow.enter(ac.signal);
    const frames = searchLatent(gen, {
      target,
      mask,
      steps,
      restarts: params.get("restarts"),
      seed: params.get("seed"),
      prior: params.get("prior"),
      label: label ?? null,
    }, { signal: ac.signal, every: 5 });
    const finish = (image: Float32Array) => {
      const result = kind === "outpaint" ? composite(target, mask, image) : image;
      return { result, error: maskedError(target, mask, image), kept: maskedError(target, mask, result) };
    };
    const done = () => {
      req.signal.removeEventListener("abort", stop);
      leave();
    };
    if ((req.headers.get("accept") ?? "").includes("image/png")) {
      try {
        let last: Float32Array | null = null;
        for await (const f of frames) last = f.image;
        if (!last) throw new CancelledError("search: cancelled");
        const { result, error } = finish(last);
        return bytes(imagePng(result), { "content-type": "image/png", "x-masked-error": error.toFixed(6) });
      } finally {
        done();
      }
    }
    const enc = new TextEncoder();
    const line = (o: unknown) => enc.encode(`${JSON.stringify(o)}\n`);
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value: f, done: over } = await frames.next();
          if (over || ac.signal.aborted) {
            controller.close();
            done();
            return;
          }
          if (f.step < steps) {
            controller.enqueue(line({ step: f.step, steps, error: f.error, png: base64(imagePng(f.image)) }));
            return;
          }
          const { result, error, kept } = finish(f.image);
          controller.enqueue(line({
            done: true,
            step: f.step,
            steps,
            error,
            initialError: f.initial,
            keptError: kept,
            png: base64(imagePng(result)),
            raw: base64(imagePng(f.image)),
          }));
          controller.close();
          done();
        } catch (e) {
          done();
          controller.error(e);
        }
      },
      cancel() {
        ac.abort();
        done();
      },
    });
    return new Response(stream, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" } });
  };

  const route = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    const file = files.get(path);
    const isGet = req.method === "GET" || req.method === "HEAD";
    if (file) {
      if (!isGet) return json({ error: `${path} takes GET` }, 405, { allow: "GET, HEAD" });
      if (url.search && path !== "/") throw new BadRequest(`${path} takes no parameters`, { parameter: "query" });
      return bytes(file[0], { "content-type": file[1], "cache-control": "no-cache" });
    }
    if (path === "/healthz") {
      return isGet ? json(health()) : json({ error: "/healthz takes GET" }, 405, { allow: "GET" });
    }
    if (isPicturePath(path)) {
      if (!isGet) return json({ error: `${path} takes GET` }, 405, { allow: "GET, HEAD" });
      const job = pictureJob(studio, path, url.searchParams);
      const pic = await fast.run(job, req.signal);
      const cache = url.searchParams.has("seed") ? "no-cache" : "no-store";
      return bytes(pic.png, { "content-type": "image/png", "cache-control": cache, ...pic.headers });
    }
    const posts: Record<string, () => Promise<Response>> = {
      "/outpaint": () => search(req, url, "outpaint"),
      "/pattern": () => search(req, url, "pattern"),
      "/encode": async () => {
        const { pixels } = await readDigit(req, url, {}, false);
        const z = await fast.run(
          async () => await studio.encoder.encode(np1(pixels)).data(),
          req.signal,
        );
        return json({ model: "vae", z: Array.from(z, (v) => Number(v.toFixed(5))) });
      },
      "/upscale": async () => {
        const { pixels, params } = await readDigit(req, url, UPSCALE_SPECS, false);
        const png = await fast.run(
          () => upscalePixels(studio, pixels, params.get("factor"), params.get("method")),
          req.signal,
        );
        return bytes(png, { "content-type": "image/png", "cache-control": "no-store" });
      },
    };
    if (path in posts) {
      if (req.method !== "POST") return json({ error: `${path} takes POST` }, 405, { allow: "POST" });
      return await posts[path]();
    }
    return json({ error: `No such page: ${path.slice(0, 80)}; see / for the endpoints` }, 404);
  };

  const handler = async (req: Request): Promise<Response> => {
    try {
      return await route(req);
    } catch (e) {
      if (e instanceof BadRequest) return json(e.toJSON(), e.status);
      if (e instanceof QueueFullError) {
        return json({ error: "The studio is busy; retry in a second" }, 503, { "retry-after": "1" });
      }
      if (e instanceof CancelledError) return json({ error: "Cancelled: the client went away" }, 499);
      console.error(`studio: ${req.method} ${new URL(req.url).pathname}:`, e);
      return json({ error: `Internal error: ${messageOf(e)}` }, 500);
    }
  };
  return { handler, queues: { fast, slow } };
}

const np1 = (pixels: Float32Array) => np.array(pixels, { shape: [1, 1, 28, 28] });
