"""Step-for-step comparison of wax's DCGAN step with PyTorch, PyTorch side.

Reads the file bench/peers/dcgan_steps.ts wrote (init, latents, batches, wax's results), runs
the same steps with torch (F.conv2d, F.conv_transpose2d, F.batch_norm in G and, for the compact
nets, in D, torch.optim.Adam) and
prints the differences: the generator's first output, each step's losses and D accuracies,
and every parameter after the first and the last step (as a multiple of the learning rate,
since Adam's first steps move each weight by about ±lr). It runs the steps twice, in float32
and in float64, and measures wax and float32 torch against float64 torch: wax agrees "to
float32 noise" when its distance is of the order of float32 torch's.

Run: /usr/bin/python3 bench/peers/torch_dcgan_steps.py out/dcgan_steps.safetensors
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    meta = head.pop("__metadata__")
    out = {}
    for k, v in head.items():
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"]).copy())
    return meta, out


def tf_same(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def transpose_pads(k, s):
    """wax's (and TensorFlow's) SAME padding of the stride-dilated input of a transposed conv."""
    length = k + s - 2
    lo = k - 1 if s > k - 1 else -(-length // 2)
    return lo, length - lo


def conv_t(x, w, s):
    """wax convTranspose2d (kernel [out, in, kh, kw], correlation over the dilated input) in torch."""
    k = w.shape[-1]
    lo, hi = transpose_pads(k, s)
    p = k - 1 - lo  # torch pads k-1-p on both sides
    y = F.conv_transpose2d(x, w.flip(-1, -2).transpose(0, 1), stride=s, padding=p,
                           output_padding=max(hi - lo, 0))
    if lo > hi:
        y = y[..., : y.shape[-2] - (lo - hi), : y.shape[-1] - (lo - hi)]
    return y


def conv(x, w, b, s):
    lo, hi = tf_same(x.shape[-1], w.shape[-1], s)
    return F.conv2d(F.pad(x, (lo, hi, lo, hi)), w, b, stride=s)


def run(t, cfg, dtype):
    """The wax run's steps in torch at `dtype`: per-step (d, g, accReal, accFake), the first
    generator output, and the parameters and statistics after the first and the last step."""
    t = {k: v.to(dtype) for k, v in t.items()}
    steps, batch = int(cfg["steps"]), int(cfg["batch"])
    tutorial = cfg["arch"] == "tutorial"
    act_g = (lambda x: F.leaky_relu(x, 0.3)) if tutorial else F.relu
    act_d = lambda x: F.leaky_relu(x, 0.3 if tutorial else 0.2)
    ups = ["up1", "up2", "up3"] if tutorial else ["up1", "up2"]
    strides = {"up1": 1 if tutorial else 2, "up2": 2, "up3": 2}
    p = {k[5:]: v.clone().requires_grad_(True) for k, v in t.items() if k.startswith("init.") and ".gState." not in k}
    state = {k[12:]: v.clone() for k, v in t.items() if k.startswith("init.gState.")}
    g_names = [k for k in p if k.startswith("g.")]
    d_names = [k for k in p if k.startswith("d.")]

    def bn(x, name, training):
        m, v = state[f"{name}.mean"], state[f"{name}.var"]
        return F.batch_norm(x, m, v, p[f"g.{name}.scale"], p[f"g.{name}.bias"], training, 0.1, 1e-5)

    def gen(z, training=True):
        h = act_g(bn(z @ p["g.fc.w"], "bn0", training))
        h = h.reshape(z.shape[0], -1, 7, 7)
        for i, u in enumerate(ups):
            h = conv_t(h, p[f"g.{u}.w"], strides[u])
            if f"g.{u}.b" in p:
                h = h + p[f"g.{u}.b"].reshape(1, -1, 1, 1)
            h = act_g(bn(h, f"bn{i + 1}", training)) if i < len(ups) - 1 else torch.tanh(h)
        return h

    def disc(x):
        """D's logits; with batch norm (always on the batch's own statistics) a batch is normalised alone."""
        h = act_d(conv(x, p["d.body.conv1.w"], p["d.body.conv1.b"], 2))
        h = conv(h, p["d.body.conv2.w"], p.get("d.body.conv2.b"), 2)
        if "d.body.bn2.scale" in p:
            h = F.batch_norm(h, None, None, p["d.body.bn2.scale"], p["d.body.bn2.bias"], True, 0.1, 1e-5)
        h = act_d(h)
        return (h.flatten(1) @ p["d.head.w"] + p["d.head.b"]).reshape(-1)

    betas = (cfg["beta1"], cfg["beta2"])
    og = torch.optim.Adam([p[k] for k in g_names], cfg["learningRate"], betas=betas)
    od = torch.optim.Adam([p[k] for k in d_names], cfg["dLearningRate"], betas=betas)
    saved = {k: v.clone() for k, v in state.items()}
    with torch.no_grad():
        fake0 = gen(t["z0"])
    state.update({k: v.clone() for k, v in saved.items()})  # that pass updated the running statistics
    losses, snaps = [], {}
    for k in range(steps):
        real, z = t[f"real{k}"], t[f"z{k}"]
        fake = gen(z)
        # Real and fake batches go through D apart (as in wax: its batch norm normalises each alone).
        lr_, lf_ = disc(real), disc(fake.detach())
        dl = (F.binary_cross_entropy_with_logits(lr_, torch.full([batch], 1 - cfg["labelSmoothing"], dtype=dtype))
              + F.binary_cross_entropy_with_logits(lf_, torch.zeros(batch, dtype=dtype)))
        acc_r = (lr_ > 0).double().mean().item()
        acc_f = (lf_ < 0).double().mean().item()
        od.zero_grad()
        dl.backward()
        od.step()
        gl = F.binary_cross_entropy_with_logits(disc(fake), torch.ones(batch, dtype=dtype))
        og.zero_grad()
        gl.backward()
        og.step()
        losses.append((dl.item(), gl.item(), acc_r, acc_f))
        if k == 0 or k == steps - 1:
            snap = {k2: v.detach().double().clone() for k2, v in p.items()}
            snap.update({f"gState.{k2}": v.double().clone() for k2, v in state.items()})
            snaps["after1" if k == 0 else "last"] = snap
    return {"fake0": fake0.double(), "losses": losses, **snaps}


def main():
    meta, t = load(sys.argv[1] if len(sys.argv) > 1 else "out/dcgan_steps.safetensors")
    torch.set_num_threads(1)
    cfg = {**json.loads(meta["config"]), "steps": meta["steps"], "batch": meta["batch"]}
    steps = int(meta["steps"])
    # float64 torch is the reference; float32 torch beside wax shows what float32 rounding alone gives.
    r32, r64 = run(t, cfg, torch.float32), run(t, cfg, torch.float64)
    print(f"{cfg['arch']}: {steps} steps of batch {cfg['batch']}; wax and torch float32 against torch float64")
    d = lambda a, b: (a.double() - b).abs().max().item()
    print(f"generator output at init, max |x - torch64|: wax {d(t['fake0'], r64['fake0']):.2e}, "
          f"torch32 {d(r32['fake0'], r64['fake0']):.2e}")
    print("step   D loss: wax  torch32  torch64        G loss: wax  torch32  torch64      accReal  accFake (wax/torch)")
    for k in range(steps):
        w, a, b = t["losses"][k].tolist(), r32["losses"][k], r64["losses"][k]
        print(f"{k:4d}   {w[0]:.6f} {a[0]:.6f} {b[0]:.6f}     {w[1]:.6f} {a[1]:.6f} {b[1]:.6f}     "
              f"{w[2]:.3f}/{b[2]:.3f}  {w[3]:.3f}/{b[3]:.3f}")
    for tag, n in (("after1", 1), ("last", steps)):
        report(tag, n, t, r32[tag], r64[tag], cfg)


def report(tag, n, t, p32, p64, cfg):
    """Per parameter: max |wax - torch64| and max |torch32 - torch64|, in units of its learning rate.

    Adam's first step moves a weight by lr · g / (|g| + eps): where |g| is near eps (1e-8) the
    step amplifies a gradient's absolute rounding error (~1e-7 of the largest gradients) into a
    visible share of lr. The verdict therefore also looks at the weights whose first step moved
    them by more than 0.99 lr in float64 (|g| > 100 eps)."""
    rows, worst = [], [0.0, 0.0, 0.0, 0.0]
    for k, ref in p64.items():
        if k.startswith("gState."):
            continue
        lr = cfg["learningRate"] if k.startswith("g.") else cfg["dLearningRate"]
        init = t[f"init.{k}"].double()
        dw, d32 = (t[f"{tag}.{k}"].double() - ref).abs() / lr, (p32[k] - ref).abs() / lr
        big = (t[f"after1.{k}"].double() - init).abs() / lr > 0.99  # wax's own first step (same as torch64's)
        rows.append((dw.max().item(), d32.max().item(), k))
        worst = [max(worst[0], dw.max().item()), max(worst[1], d32.max().item()),
                 max(worst[2], dw[big].max().item() if big.any() else 0.0),
                 max(worst[3], d32[big].max().item() if big.any() else 0.0)]
    rows.sort(reverse=True)
    print(f"  after {n} step(s): max |x - torch64| per parameter in units of its learning rate (wax/torch32):")
    print("   " + ", ".join(f"{k} {a:.1e}/{b:.1e}" for a, b, k in rows))
    ok = worst[2] <= 4 * worst[3] + 1e-5
    print(f"   worst over all weights: wax {worst[0]:.2e}, torch32 {worst[1]:.2e}; over weights with |g| > 100 eps: "
          f"wax {worst[2]:.2e}, torch32 {worst[3]:.2e} -> "
          + ("wax agrees to float32 noise" if ok else "wax differs BEYOND float32 noise"))
    for k, ref in p64.items():
        if not k.startswith("gState."):
            continue
        w = t[f"{tag}.{k}"].double()
        rel = ((w - ref).abs() / (ref.abs() + 1e-6)).max().item()
        if rel > 1e-4:
            print(f"   running {k[7:]}: wax differs by up to {rel:.2%}"
                  + (" (torch keeps the unbiased batch variance, wax the biased)" if k.endswith("var") else ""))

main()
