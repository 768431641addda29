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
 * model without one gets a small stand-in trained here first (about two minutes for all of them
 * on two cores), saved in `out/studio/` and reused next time.
 *
 * Run: `deno run -A examples/studio.ts [--port 8000] [--host 127.0.0.1] [--checkpoints out]`
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type BackendName, useBackend } from "../mod.ts";
import { type Dataset, formatDuration, loadMnist } from "../models/mod.ts";
import { findDirections } from "./studio/directions.ts";
import type { Studio } from "./studio/handlers.ts";
import {
  checkpointDirs,
  type Encoder,
  FULL_EXAMPLE,
  ganGenerator,
  type Generator,
  loadLatest,
  MODEL_NAMES,
  type ModelName,
  vaeModel,
} from "./studio/models.ts";
import { createHandler, LIMITS } from "./studio/server.ts";
import { trainSmall } from "./studio/train.ts";
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
                      VAE gets 3N and the upscaler 2N (default 200)
  --score N           test images the upscaler's PSNR is measured on (default 10000)
  --retrain           train the studio's own small models and upscaler again
  --queue N           picture requests that may wait before the studio answers 503 (default 32)
  --backend NAME      cpu or webgpu (default: webgpu on a hardware GPU, else cpu)
  --help              print this and exit
`;

/** The parsed flags, or exit 2 with the usage and the reason. */
function flags() {
  const fail = (why: string): never => {
    console.error(`${USAGE}\nexamples/studio.ts: ${why}`);
    Deno.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string", default: "8000" },
        host: { type: "string", default: "127.0.0.1" },
        checkpoints: { type: "string", default: "out" },
        "train-steps": { type: "string", default: "200" },
        score: { type: "string", default: "10000" },
        retrain: { type: "boolean", default: false },
        queue: { type: "string", default: "32" },
        backend: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const int = (name: string, min: number, max: number) => {
    const raw = String(values[name]);
    const v = Number(raw);
    if (!/^\d+$/.test(raw) || v < min || v > max) {
      fail(`--${name} must be an integer from ${min} to ${max}, got ${raw}`);
    }
    return v;
  };
  const backend = values.backend as string | undefined;
  if (backend !== undefined && backend !== "cpu" && backend !== "webgpu") {
    fail(`--backend must be cpu or webgpu, got ${backend}`);
  }
  return {
    port: int("port", 0, 65535),
    host: String(values.host),
    root: String(values.checkpoints),
    trainSteps: int("train-steps", 1, 100000),
    score: int("score", 1, 10000),
    retrain: values.retrain === true,
    queue: int("queue", 0, 10000),
    backend: backend as BackendName | undefined,
  };
}

const opts = flags();
if (opts.backend) await useBackend(opts.backend);
const t0 = performance.now();

/** Loads (or trains) the models, the upscaler and the tuner's directions; the data sets are dropped after. */
async function build(): Promise<Studio> {
  let train: Dataset | null = null;
  const trainData = async () => (train ??= await loadMnist({ split: "train" }));
  const test = await loadMnist({ split: "test", range: [0, 1] });

  /** A model from its example's checkpoint, else the studio's small one, trained first if needed. */
  const model = async (name: ModelName): Promise<{ generator: Generator; encoder?: Encoder }> => {
    const dirs = checkpointDirs(opts.root, name);
    let ckpt = await loadLatest(dirs.full);
    const small = !ckpt;
    if (!ckpt && !opts.retrain) ckpt = await loadLatest(dirs.small);
    if (!ckpt) {
      const steps = name === "vae" ? 3 * opts.trainSteps : opts.trainSteps;
      console.error(
        `studio: no ${name} checkpoint in ${dirs.full}; training a small one (${steps} steps) into ${dirs.small}. ` +
          `\`${FULL_EXAMPLE[name]}\` trains the full-quality model.`,
      );
      await trainSmall(name, dirs.small, { steps, data: await trainData() });
      ckpt = (await loadLatest(dirs.small))!;
    }
    if (name === "vae") return vaeModel(ckpt, small);
    return { generator: ganGenerator(name, ckpt, small) };
  };

  const generators = {} as Record<ModelName, Generator>;
  let encoder: Encoder | undefined;
  for (const name of MODEL_NAMES) {
    const m = await model(name);
    generators[name] = m.generator;
    encoder ??= m.encoder;
  }

  const upDir = join(opts.root, "studio", "upscaler", "checkpoints");
  const saved = opts.retrain ? null : await loadLatest(upDir);
  let upscaler: Upscaler;
  if (saved) upscaler = upscalerFrom(saved);
  else {
    console.error(`studio: training the upscaler (${2 * opts.trainSteps} steps) into ${upDir}`);
    const pixels = await trainData();
    const train01 = { ...pixels, images: pixels.images.map((v) => (v + 1) / 2) };
    upscaler = await trainUpscaler(upDir, {
      steps: 2 * opts.trainSteps,
      train: train01,
      test,
      scoreImages: opts.score,
    });
  }
  const directions = await findDirections(encoder!, test);
  return { generators, encoder: encoder!, directions, upscaler };
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
    `${LIMITS.steps} search steps; ready in ${formatDuration((performance.now() - t0) / 1000)}`,
);
Deno.serve({
  hostname: opts.host,
  port: opts.port,
  onListen: ({ hostname, port }) => {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    console.log(`studio: listening on http://${host}:${port}/`);
  },
}, handler);
