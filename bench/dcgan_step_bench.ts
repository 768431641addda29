/**
 * DCGAN train step on the cpu with kernel fusion on and off, interleaved in one process:
 * step time and per-primitive kernel time (elementwise vs fused loops).
 * Usage: deno run -A bench/dcgan_step_bench.ts [batch=64] [rounds=3]
 */
import { random } from "../mod.ts";
import { makeDcgan } from "../models/dcgan.ts";
import { fusion, profile } from "../core/backend/cpu/executor.ts";

const batch = Number(Deno.args[0] ?? 64), rounds = Number(Deno.args[1] ?? 3);
const gan = makeDcgan();
const real = random.uniform(random.key(1), [batch, 1, 28, 28], { minval: -1, maxval: 1 });
const modes = [true, false];
const stats = new Map(
  modes.map((m) => [m, { ms: [] as number[], prof: new Map<string, number>(), loss: [] as number[] }]),
);
for (let r = 0; r <= rounds; r++) {
  for (const on of modes) {
    fusion.enabled = on;
    const s = gan.init(random.key(0));
    profile.enabled = r > 0;
    profile.ms.clear();
    const t0 = performance.now();
    const [, l] = gan.step(s, real, random.key(2));
    const d = await l.d.item();
    const ms = performance.now() - t0;
    if (r === 0) continue; // warm-up (tracing, compilation)
    const st = stats.get(on)!;
    st.ms.push(ms);
    st.loss.push(d);
    for (const [p, t] of profile.ms) st.prof.set(p, (st.prof.get(p) ?? 0) + t / rounds);
  }
}
profile.enabled = false;
const heavy = new Set(["convGeneralDilated", "dotGeneral", "reduceSum", "reduceMax", "transpose", "reshape", "rev"]);
for (const on of modes) {
  const st = stats.get(on)!;
  const ew = [...st.prof].filter(([p]) => !heavy.has(p)).reduce((a, [, t]) => a + t, 0);
  const med = [...st.ms].sort((a, b) => a - b)[st.ms.length >> 1];
  console.log(
    `fusion ${on ? "on " : "off"}: step median ${med.toFixed(0)} ms (${st.ms.map((x) => x.toFixed(0)).join(", ")}), ` +
      `elementwise/fused ${ew.toFixed(0)} ms/step, d loss ${st.loss[0]}`,
  );
  const rows = [...st.prof].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log("   " + rows.map(([p, t]) => `${p} ${t.toFixed(0)}`).join(" | "));
}
