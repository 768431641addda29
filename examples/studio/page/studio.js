// The studio page: each panel asks the server for pictures (GET with query parameters, or POST
// with a drawn digit), shows the server's 400 messages, and keeps at most one request in flight
// per picture (the newest settings win), so sliders stay live without flooding the server.
"use strict";

const $ = (id) => document.getElementById(id);
const MODELS = ["dcgan", "cgan", "vae"];

/** A request the server refused; the message is the server's. */
class ApiError extends Error {}

async function refusal(r) {
  const body = await r.json().catch(() => ({ error: r.statusText }));
  return new ApiError(`${r.status}: ${body.error ?? r.statusText}`);
}

/** Fetches a PNG; resolves to an object URL and the response headers. */
async function fetchPng(url, init) {
  const r = await fetch(url, init);
  if (!r.ok) throw await refusal(r);
  return { src: URL.createObjectURL(await r.blob()), headers: r.headers };
}

/** Puts a new source into an img and waits until it is decoded; `data-state` tells tests where it is. */
async function show(img, src) {
  const old = img.src;
  img.src = src;
  await img.decode().catch(() => {});
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

/** An img that follows a URL (and fetch options): one request in flight, the newest one wins. */
function liveImage(img, errEl, onHeaders = () => {}) {
  let want = null;
  let busy = false;
  const pump = async () => {
    if (busy || want === null) return;
    busy = true;
    const [url, init] = want;
    want = null;
    img.dataset.state = "loading";
    try {
      const { src, headers } = await fetchPng(url, init);
      await show(img, src);
      img.dataset.url = url;
      img.dataset.state = "ready";
      errEl.textContent = "";
      onHeaders(headers);
    } catch (e) {
      img.dataset.state = "error";
      errEl.textContent = e.message;
    }
    busy = false;
    pump();
  };
  return (url, init) => {
    want = [url, init];
    pump();
  };
}

const query = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v !== undefined && v !== "")).toString();

function fillModels(select, models, value) {
  select.innerHTML = models.map((m) => `<option value="${m}">${m}</option>`).join("");
  select.value = value;
}

// ---- This digit does not exist ----------------------------------------------------------------
function hero(best) {
  const params = new URLSearchParams(location.search);
  const img = $("hero-img"), seed = $("hero-seed"), model = $("hero-model"), link = $("hero-link");
  fillModels(model, MODELS, params.has("model") ? params.get("model") : best);
  const set = liveImage(img, $("hero-error"), (h) => {
    const s = h.get("x-seed");
    seed.value = s;
    img.dataset.seed = s;
    const href = `/?${query({ seed: s, model: model.value })}`;
    link.href = href;
    link.textContent = `${location.origin}${href}`;
  });
  const load = (s) => set(`/sample.png?${query({ seed: s, model: model.value, size: 336 })}`);
  $("hero-new").onclick = () => load(undefined);
  $("hero-show").onclick = () => load(seed.value.trim());
  seed.onkeydown = (e) => e.key === "Enter" && load(seed.value.trim());
  model.onchange = () => load(seed.value.trim() || undefined);
  // A model name the page does not know still goes to the server, which explains what it takes.
  if (params.has("model") && model.value !== params.get("model")) {
    return set(
      `/sample.png?${query({ seed: params.get("seed") ?? undefined, model: params.get("model"), size: 336 })}`,
    );
  }
  load(params.has("seed") ? params.get("seed") : undefined);
}

// ---- Mixer --------------------------------------------------------------------------------------
function mixer() {
  const model = $("mix-model"), t = $("mix-t");
  fillModels(model, MODELS, "vae");
  const set = liveImage($("mix-img"), $("mix-error"));
  const codes = { a: null, b: null };
  const update = () => {
    $("mix-t-out").textContent = `t = ${Number(t.value).toFixed(2)}`;
    const q = { model: model.value, t: t.value, size: 224 };
    for (const k of ["a", "b"]) {
      if (codes[k]) q[`z${k}`] = codes[k].join(",");
      else q[k] = $(`mix-${k}`).value.trim();
    }
    set(`/mix.png?${query(q)}`);
  };
  for (const k of ["a", "b"]) {
    const pad = makePad($(`mix-pad-${k}`), async () => {
      try {
        const r = await fetch("/encode", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ pixels: Array.from(pad.normalized(), (v) => Number(v.toFixed(3))) }),
        });
        if (!r.ok) throw await refusal(r);
        codes[k] = (await r.json()).z;
        model.value = "vae"; // drawn digits have VAE codes
        update();
      } catch (e) {
        $("mix-error").textContent = e.message;
      }
    });
    $(`mix-clear-${k}`).onclick = () => {
      pad.clear();
      codes[k] = null;
      update();
    };
    $(`mix-${k}`).oninput = () => {
      pad.clear();
      codes[k] = null;
      update();
    };
  }
  model.onchange = () => {
    if (model.value !== "vae") { for (const k of ["a", "b"]) codes[k] = null; }
    update();
  };
  t.oninput = update;
  update();
}

// ---- Tuner --------------------------------------------------------------------------------------
function tuner(directions) {
  const box = $("tune-sliders");
  box.innerHTML = directions.map((d) =>
    `<label class="slider">${d.label} <input type="range" id="tune-${d.name}" min="-3" max="3" step="0.05" value="0">` +
    `<output id="tune-${d.name}-out">0</output></label>`
  ).join("");
  const set = liveImage($("tune-img"), $("tune-error"));
  const update = () => {
    const q = { model: "vae", seed: $("tune-seed").value.trim(), size: 224 };
    for (const d of directions) {
      const v = Number($(`tune-${d.name}`).value);
      $(`tune-${d.name}-out`).textContent = v.toFixed(2);
      if (v !== 0) q[d.name] = v;
    }
    set(`/tune.png?${query(q)}`);
  };
  for (const d of directions) $(`tune-${d.name}`).oninput = update;
  $("tune-seed").oninput = update;
  $("tune-reset").onclick = () => {
    for (const d of directions) $(`tune-${d.name}`).value = 0;
    update();
  };
  update();
  const setClass = liveImage($("class-img"), $("tune-error"));
  const updateClass = () => {
    $("class-out").textContent = Number($("class-t").value).toFixed(2);
    setClass(
      `/tune.png?${query({ model: "cgan", seed: $("class-seed").value.trim(), class: $("class-t").value, size: 224 })}`,
    );
  };
  $("class-t").oninput = updateClass;
  $("class-seed").oninput = updateClass;
  updateClass();
}

// ---- Latent searches (pattern maker, outpainter) -------------------------------------------------
/** Posts a search and follows its NDJSON frames into an img, a progress bar and a status line. */
function searcher(name) {
  const img = $(`${name}-img`), bar = $(`${name}-progress`), status = $(`${name}-status`), err = $(`${name}-error`);
  let running = null;
  return async (body) => {
    running?.abort(); // the server cancels the old search when its client goes away
    const ac = (running = new AbortController());
    err.textContent = "";
    img.dataset.state = "loading";
    try {
      const r = await fetch(`/${name}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: ac.signal,
      });
      if (!r.ok) throw await refusal(r);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const f = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          await show(img, `data:image/png;base64,${f.png}`);
          bar.value = f.step / f.steps;
          status.textContent = f.done
            ? `done: error ${f.error.toFixed(4)} (from ${f.initialError.toFixed(4)})`
            : `step ${f.step}/${f.steps} · error ${f.error.toFixed(4)}`;
          if (f.done) {
            img.dataset.error = f.error;
            img.dataset.initialError = f.initialError;
            img.dataset.state = "done";
          }
        }
      }
    } catch (e) {
      if (ac.signal.aborted) return;
      img.dataset.state = "error";
      err.textContent = e.message;
    }
  };
}

function pattern() {
  const pad = makePad($("pattern-pad"));
  const model = $("pattern-model");
  fillModels(model, MODELS, "vae");
  const run = searcher("pattern");
  $("pattern-clear").onclick = () => pad.clear();
  $("pattern-run").onclick = () =>
    run({ pixels: Array.from(pad.pixels(), (v) => Number(v.toFixed(3))), model: model.value, steps: 120 });
  // A starting shape, so the panel shows something before anyone draws.
  pad.polyline([[9, 8], [19, 8], [13, 21]]);
}

function outpaint() {
  const canvas = $("outpaint-src"), model = $("outpaint-model");
  fillModels(model, MODELS, "vae");
  const MASKS = {
    left: (x) => x < 14,
    right: (x) => x >= 14,
    top: (_, y) => y < 14,
    bottom: (_, y) => y >= 14,
  };
  let keep = "left", pixels = new Float32Array(784);
  const mask = () => Float32Array.from({ length: 784 }, (_, i) => (MASKS[keep](i % 28, Math.floor(i / 28)) ? 1 : 0));
  const redraw = () => paint28(canvas, pixels, mask());
  const loadSource = async () => {
    try {
      const seed = $("outpaint-seed").value.trim();
      const { src } = await fetchPng(`/sample.png?${query({ seed, model: model.value, size: 28 })}`);
      const im = new Image();
      im.src = src;
      await im.decode();
      const c = new OffscreenCanvas(28, 28);
      const ctx = c.getContext("2d");
      ctx.drawImage(im, 0, 0);
      const d = ctx.getImageData(0, 0, 28, 28).data;
      pixels = Float32Array.from({ length: 784 }, (_, i) => d[i * 4] / 255);
      URL.revokeObjectURL(src);
      canvas.dataset.state = "ready";
      $("outpaint-error").textContent = "";
      redraw();
    } catch (e) {
      $("outpaint-error").textContent = e.message;
    }
  };
  for (const b of document.querySelectorAll("button.keep")) {
    b.onclick = () => {
      keep = b.dataset.keep;
      for (const o of document.querySelectorAll("button.keep")) o.classList.toggle("on", o === b);
      redraw();
    };
  }
  const run = searcher("outpaint");
  $("outpaint-seed").oninput = loadSource;
  model.onchange = loadSource;
  $("outpaint-run").onclick = () =>
    run({
      pixels: Array.from(pixels, (v) => Number(v.toFixed(4))),
      mask: Array.from(mask()),
      model: model.value,
      steps: 120,
    });
  loadSource();
}

// ---- Upscaler -----------------------------------------------------------------------------------
function upscaler(score, best) {
  const model = $("up-model");
  fillModels(model, MODELS, best);
  const sets = Object.fromEntries(
    ["nearest", "bilinear", "net"].map((m) => [m, liveImage($(`up-${m}`), $("up-error"))]),
  );
  const pad = makePad($("up-pad"), () => update());
  const update = () => {
    const factor = document.querySelector('input[name="factor"]:checked').value;
    for (const [method, set] of Object.entries(sets)) {
      if (pad.empty()) {
        set(`/upscale.png?${query({ seed: $("up-seed").value.trim(), model: model.value, factor, method })}`);
      } else {
        // A drawn digit goes up as JSON, normalised the way MNIST digits were.
        const pixels = Array.from(pad.normalized(), (v) => Number(v.toFixed(3)));
        set("/upscale", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ pixels, factor, method }),
        });
      }
    }
  };
  $("up-clear").onclick = () => {
    pad.clear();
    update();
  };
  $("up-seed").oninput = () => {
    pad.clear();
    update();
  };
  model.onchange = update;
  for (const r of document.querySelectorAll('input[name="factor"]')) r.onchange = update;
  update();
  const f = (v) => v.toFixed(2);
  $("psnr").textContent =
    `On ${score.images.toLocaleString("en")} test digits its PSNR is ${f(score.x2.net)} dB at 2× ` +
    `(bilinear ${f(score.x2.bilinear)} dB, +${f(score.x2.net - score.x2.bilinear)} dB) and ${
      f(score.x4.net)
    } dB at 4× ` +
    `(bilinear ${f(score.x4.bilinear)} dB, +${f(score.x4.net - score.x4.bilinear)} dB).`;
}

// ---- Start --------------------------------------------------------------------------------------
async function start() {
  let info;
  try {
    const r = await fetch("/healthz");
    info = await r.json();
  } catch (e) {
    $("hero-error").textContent = `The studio did not answer: ${e.message}`;
    return;
  }
  // The fully trained model first; among the small stand-ins, the VAE draws the clearest digits.
  const best = MODELS.find((m) => !info.models[m].small) ?? "vae";
  hero(best);
  $("models").innerHTML = MODELS.map((m) => {
    const g = info.models[m];
    return g.small
      ? `<b>${m}</b> <span class="small-model">small stand-in, ${g.steps} steps</span>`
      : `<b>${m}</b> ${g.steps} steps`;
  }).join(" · ");
  mixer();
  tuner(info.directions);
  pattern();
  outpaint();
  upscaler(info.upscaler.score, best);
}

start();
