import assert from "node:assert/strict";
import { np, random } from "../mod.ts";
import { decodePng, encodeGrid, makeDcgan, saveGrid } from "../models/mod.ts";

Deno.test("encodeGrid writes the right pixels; saveGrid is atomic", async () => {
  // Two 2×2 images: one black (-1), one white (+1); no padding, no scaling.
  const imgs = np.array([-1, -1, -1, -1, 1, 1, 1, 1], { shape: [2, 1, 2, 2] });
  // pngjs decodes it (an independent decoder).
  const png = decodePng(await encodeGrid(imgs, { cols: 2, pad: 0, scale: 1 }));
  assert.equal(png.width, 4);
  assert.equal(png.height, 2);
  assert.deepEqual(png.get(0, 0), [0, 0, 0, 255]);
  assert.deepEqual(png.get(2, 0), [255, 255, 255, 255]);
  assert.deepEqual(png.get(3, 1), [255, 255, 255, 255]);
  const dir = await Deno.makeTempDir();
  await saveGrid(`${dir}/g.png`, imgs);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["g.png"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("dcgan: shapes, finite losses, and the discriminator learns to separate", async () => {
  const gan = makeDcgan({ learningRate: 1e-3, dLearningRate: 1e-3 });
  let s = gan.init(random.key(0));
  const real = random.uniform(random.key(1), [8, 1, 28, 28], { minval: 0.5, maxval: 1 });
  let first = 0;
  let last = 0;
  for (let i = 0; i < 4; i++) {
    const [next, losses] = gan.step(s, real, random.key(10 + i));
    s = next;
    last = await losses.d.item();
    if (i === 0) first = last;
    assert.ok(Number.isFinite(last) && Number.isFinite(await losses.g.item()));
  }
  assert.ok(last < first, `discriminator loss should fall on an easy separation: ${first} -> ${last}`);
  assert.deepEqual(gan.sample(s, random.normal(random.key(2), [3, 100])).shape, [3, 1, 28, 28]);
});
