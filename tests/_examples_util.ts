/** Running an example as a user does: a subprocess on small MNIST-format files, and checkpoints compared bit for bit. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Array, load } from "../mod.ts";
import { encodeIdx } from "../models/data/mod.ts";

const repo = new URL("..", import.meta.url).pathname;

/**
 * A temporary folder with `data/mnist/`: `train` (default 48) training and 16 test images of
 * random pixels (labels i mod 10) in the IDX format. Remove it when done.
 */
export async function tinyMnist(train = 48): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "wax examples " });
  const dir = join(root, "data", "mnist");
  await Deno.mkdir(dir, { recursive: true });
  let s = 12345;
  const byte = () => (s = (s * 1103515245 + 12345) % 2 ** 31) >> 23;
  for (const [split, n] of [["train", train], ["t10k", 16]] as const) {
    const px = Uint8Array.from({ length: n * 784 }, byte);
    await Deno.writeFile(join(dir, `${split}-images-idx3-ubyte`), encodeIdx({ dims: [n, 28, 28], data: px }));
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
    await Deno.writeFile(join(dir, `${split}-labels-idx1-ubyte`), encodeIdx({ dims: [n], data: labels }));
  }
  return root;
}

/** Runs `examples/<name>.ts` on the cpu backend with the data of `root` (nothing is downloaded). */
export async function runExample(
  root: string,
  name: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", `examples/${name}.ts`, ...args],
    cwd: repo,
    env: {
      WAX_BACKEND: "cpu",
      WAX_DATA_DIR: join(root, "data"),
      WAX_CACHE_DIR: join(root, "cache"),
      WAX_DATA_MIRROR: "http://127.0.0.1:9/",
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** Every leaf of two checkpoints, compared bit for bit. */
export async function assertSameCheckpoint(a: string, b: string): Promise<void> {
  const leaves = (t: unknown, path = ""): [string, Array][] =>
    t !== null && typeof t === "object" && !("dtype" in t)
      ? Object.entries(t).flatMap(([k, v]) => leaves(v, `${path}.${k}`))
      : t !== null && typeof t === "object"
      ? [[path, t as Array]]
      : [];
  const [la, lb] = [leaves(await load(a)), leaves(await load(b))];
  assert.deepEqual(la.map(([p]) => p), lb.map(([p]) => p));
  assert.ok(la.length > 4);
  for (let i = 0; i < la.length; i++) {
    const [x, y] = [await la[i][1].data(), await lb[i][1].data()];
    assert.deepEqual(
      new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
      new Uint8Array(y.buffer, y.byteOffset, y.byteLength),
      la[i][0],
    );
  }
}
