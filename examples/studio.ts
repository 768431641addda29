/**
 * The studio: wax's MNIST models as a web app on `Deno.serve`, every picture made by wax.
 *
 * - "This digit does not exist": a new generated digit on each load, its seed in a shareable link.
 * - Mixer: blend the latents of two seeds, or of two digits drawn on the page and encoded by the VAE.
 * - Tuner: move a VAE latent along its principal directions and along stroke thickness and slant
 *   (found from the test set), or blend the conditional GAN's class.
 * - Pattern maker and outpainter: gradient descent on the latent (wax's `grad` through the
 *   generator) so the picture draws a given shape or keeps given pixels and completes the rest.
 * - Upscaler: a small super-resolution net beside nearest and bilinear upsampling.
 *
 * It loads the checkpoints the model examples write (`out/dcgan/`, `out/cgan/`, `out/vae/`); a
 * model without one gets a small stand-in trained here first (about 95 CPU-seconds for all of
 * them and the upscaler, under two minutes on two cores), saved in `out/studio/` and reused next
 * time. The nets' shape is read from each checkpoint's parameters.
 *
 * Run: `deno run -A examples/studio.ts [--port 8000] [--host 127.0.0.1] [--checkpoints out]`
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type BackendName, useBackend } from "../mod.ts";
import { cpuSeconds, type Dataset, formatDuration, loadMnist } from "../models/mod.ts";
import { findDirections } from "./studio/directions.ts";
import type { Studio } from "./studio/handlers.ts";
import {
  checkpointDirs,
  FULL_EXAMPLE,
  ganGenerator,
  type Loaded,
  loadLatest,
  MODEL_NAMES,
  type ModelName,
  vaeModel,
} from "./studio/models.ts";
import { createHandler, LIMITS, messageOf } from "./studio/server.ts";
import { DEFAULT_STEPS, SMALL, trainSmall } from "./studio/train.ts";
import { trainUpscaler, type Upscaler, upscalerFrom } from "./studio/upscale.ts";

const USAGE = `Usage: deno run -A examples/studio.ts [flags]

The studio: "this digit does not exist", a mixer, a tuner, a pattern maker, an outpainter and an
upscaler for wax's MNIST models, served on Deno.serve. Loads the checkpoints of examples/dcgan.ts,
examples/cgan.ts and examples/vae.ts from --checkpoints; trains small stand-ins for missing ones.

Flags:
  --port N            port to listen on; 0 picks a free one (default 8000)
  --host NAME         address to listen on (default 127.0.0.1)
  --checkpoints DIR   where the model examples wrote their output (default out)
  --train-steps N     steps of each small GAN the studio trains when a checkpoint is missing; the
                      VAE gets ${SMALL.vae.stepsPer}N, the upscaler ${SMALL.upscaler.stepsPer}N (default ${DEFAULT_STEPS})
  --score N           test images the upscaler's PSNR is measured on (default 10000)
  --retrain           train the studio's own small models and upscaler again
  --queue N           picture requests that may wait before the studio answers 503 (default 32)
  --backend NAME      cpu or webgpu (default: webgpu on a hardware GPU, else cpu)
  --help              print this and exit
`;

/** Exits 2 with the usage and the reason. */
function fail(why: string): never {
  console.error(`${USAGE}\nexamples/studio.ts: ${why}`);
  Deno.exit(2);
}

/** The flags as parseArgs reads them, or exit 2. */
function readArgs() {
  try {
    return parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string", default: "8000" },
        host: { type: "string", default: "127.0.0.1" },
        checkpoints: { type: "string", default: "out" },
        "train-steps": { type: "string", default: String(DEFAULT_STEPS) },
        score: { type: "string", default: "10000" },
        retrain: { type: "boolean", default: false },
        queue: { type: "string", default: "32" },
        backend: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    return fail(messageOf(e));
  }
}

/** A --backend value, or exit 2. */
function backendName(v: string | undefined): BackendName | undefined {
  if (v === undefined || v === "cpu" || v === "webgpu") return v;
  return fail(`--backend must be cpu or webgpu, got ${v}`);
}

/** The parsed flags, or exit 2 with the usage and the reason. */
function flags() {
  const values = readArgs();
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const int = (name: string, raw: string, min: number, max: number) => {
    const v = Number(raw);
    if (!/^\d+$/.test(raw) || v < min || v > max) {
      fail(`--${name} must be an integer from ${min} to ${max}, got ${raw}`);
    }
    return v;
  };
  const backend = values.backend;
  return {
    port: int("port", values.port, 0, 65535),
    host: values.host,
    root: values.checkpoints,
    trainSteps: int("train-steps", values["train-steps"], 1, 100000),
    score: int("score", values.score, 1, 10000),
    retrain: values.retrain,
    queue: int("queue", values.queue, 0, 10000),
    backend: backendName(backend),
  };
}

const opts = flags();
if (opts.backend) await useBackend(opts.backend);
const t0 = performance.now();

const cpu0 = cpuSeconds();

/** Loads (or trains) the models, the upscaler and the tuner's directions; the data sets are dropped after. */
async function build(): Promise<Studio> {
  let train: Dataset | null = null;
  const trainData = async () => (train ??= await loadMnist({ split: "train" }));
  const test = await loadMnist({ split: "test", range: [0, 1] });
  /** Runs one startup phase and logs its CPU time when it trained something. */
  const phase = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const c = cpuSeconds();
    const out = await work();
    console.error(`studio: ${what} took ${(cpuSeconds() - c).toFixed(1)} CPU-s`);
    return out;
  };

  /** A model's checkpoint from its example, else the studio's small one, trained first if needed. */
  const checkpoint = async (name: ModelName): Promise<{ ckpt: Loaded; small: boolean }> => {
    const dirs = checkpointDirs(opts.root, name);
    const full = await loadLatest(dirs.full);
    if (full) return { ckpt: full, small: false };
    const saved = opts.retrain ? null : await loadLatest(dirs.small);
    if (saved) return { ckpt: saved, small: true };
    const steps = name === "vae" ? SMALL.vae.stepsPer * opts.trainSteps : opts.trainSteps;
    console.error(
      `studio: no ${name} checkpoint in ${dirs.full}; training a small one (${steps} steps) into ${dirs.small}. ` +
        `\`${FULL_EXAMPLE[name]}\` trains the full-quality model.`,
    );
    const data = await trainData();
    await phase(`training the small ${name}`, () => trainSmall(name, dirs.small, { steps, data }));
    const trained = await loadLatest(dirs.small);
    if (!trained) throw new Error(`studio: the small ${name} was trained but ${dirs.small} has no checkpoint`);
    return { ckpt: trained, small: true };
  };

  const dcgan = await checkpoint("dcgan");
  const cgan = await checkpoint("cgan");
  const vae = await checkpoint("vae");
  const { generator, encoder } = vaeModel(vae.ckpt, vae.small);
  const generators = {
    dcgan: ganGenerator("dcgan", dcgan.ckpt, dcgan.small),
    cgan: ganGenerator("cgan", cgan.ckpt, cgan.small),
    vae: generator,
  };

  const upDir = join(opts.root, "studio", "upscaler", "checkpoints");
  const saved = opts.retrain ? null : await loadLatest(upDir);
  let upscaler: Upscaler;
  if (saved) upscaler = upscalerFrom(saved);
  else {
    const steps = SMALL.upscaler.stepsPer * opts.trainSteps;
    console.error(`studio: training the upscaler (${steps} steps) into ${upDir}`);
    const pixels = await trainData();
    const train01 = { ...pixels, images: pixels.images.map((v) => (v + 1) / 2) };
    upscaler = await phase(
      `training and scoring the upscaler`,
      () => trainUpscaler(upDir, { steps, train: train01, test, scoreImages: opts.score }),
    );
  }
  const directions = await findDirections(encoder, test);
  return { generators, encoder, directions, upscaler };
}

const studio = await build();
const { generators } = studio;
const s = studio.upscaler.score;
const { handler } = await createHandler(studio, { queue: opts.queue });

for (const name of MODEL_NAMES) {
  const g = generators[name];
  console.error(`studio: ${name}: ${g.source} (${g.steps} steps${g.small ? `; small stand-in` : ""})`);
}
console.error(
  `studio: upscaler PSNR on ${s.images} test images: 2× ${s.x2.net.toFixed(2)} dB (bilinear ${
    s.x2.bilinear.toFixed(2)
  }), 4× ${s.x4.net.toFixed(2)} dB (bilinear ${s.x4.bilinear.toFixed(2)}); limits: body ${LIMITS.body} B, ` +
    `${LIMITS.steps} search steps; ready in ${formatDuration((performance.now() - t0) / 1000)} ` +
    `(${(cpuSeconds() - cpu0).toFixed(0)} CPU-s)`,
);
Deno.serve({
  hostname: opts.host,
  port: opts.port,
  onListen: ({ hostname, port }) => {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    console.log(`studio: listening on http://${host}:${port}/`);
  },
}, handler);
