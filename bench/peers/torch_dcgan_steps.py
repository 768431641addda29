"""Step-for-step comparison of wax's DCGAN step with PyTorch, PyTorch side.

Reads the file bench/peers/dcgan_steps.ts wrote (init, latents, batches, wax's results), runs
the same steps with torch (F.conv2d, F.conv_transpose2d, F.batch_norm, torch.optim.Adam) and
prints the differences: the generator's first output, each step's losses and D accuracies,
and every parameter after the first and the last step (as a multiple of the learning rate,
since Adam's first steps move each weight by about ±lr).

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


def main():
    meta, t = load(sys.argv[1] if len(sys.argv) > 1 else "out/dcgan_steps.safetensors")
    torch.set_num_threads(1)
    cfg = json.loads(meta["config"])
    steps, batch = int(meta["steps"]), int(meta["batch"])
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
        h = act_d(conv(x, p["d.body.conv1.w"], p["d.body.conv1.b"], 2))
        h = act_d(conv(h, p["d.body.conv2.w"], p["d.body.conv2.b"], 2))
        return (h.flatten(1) @ p["d.head.w"] + p["d.head.b"]).reshape(-1)

    betas = (cfg["beta1"], cfg["beta2"])
    og = torch.optim.Adam([p[k] for k in g_names], cfg["learningRate"], betas=betas)
    od = torch.optim.Adam([p[k] for k in d_names], cfg["dLearningRate"], betas=betas)
    saved = {k: v.clone() for k, v in state.items()}
    with torch.no_grad():
        f0 = gen(t["z0"])
    state.update({k: v.clone() for k, v in saved.items()})  # that pass updated the running statistics
    print(f"{cfg['arch']}: generator output at init, max |torch - wax| = {(f0 - t['fake0']).abs().max():.2e}")
    print("step   D loss (torch, wax)      G loss (torch, wax)      accReal  accFake")
    for k in range(steps):
        real, z = t[f"real{k}"], t[f"z{k}"]
        fake = gen(z)
        logits = disc(torch.cat([real, fake.detach()]))
        target = torch.cat([torch.full([batch], 1 - cfg["labelSmoothing"]), torch.zeros(batch)])
        dl = F.binary_cross_entropy_with_logits(logits, target) * 2
        acc_r = (logits[:batch] > 0).float().mean().item()
        acc_f = (logits[batch:] < 0).float().mean().item()
        od.zero_grad()
        dl.backward()
        od.step()
        gl = F.binary_cross_entropy_with_logits(disc(fake), torch.ones(batch))
        og.zero_grad()
        gl.backward()
        og.step()
        w = t["losses"][k]
        print(f"{k:4d}   {dl.item():.6f} {w[0]:.6f}     {gl.item():.6f} {w[1]:.6f}     "
              f"{acc_r:.3f}/{w[2]:.3f}  {acc_f:.3f}/{w[3]:.3f}")
        if k == 0 or k == steps - 1:
            tag = "after1" if k == 0 else "last"
            report(tag, k + 1, p, state, t, cfg)


def report(tag, n, p, state, t, cfg):
    worst = []
    for k, v in p.items():
        lr = cfg["learningRate"] if k.startswith("g.") else cfg["dLearningRate"]
        d = (v.detach() - t[f"{tag}.{k}"]).abs().max().item() / lr
        worst.append((d, k))
    worst.sort(reverse=True)
    print(f"  after {n} step(s): max |torch - wax| of each parameter, in units of its learning rate:")
    print("   " + ", ".join(f"{k} {d:.2e}" for d, k in worst))
    for k, v in state.items():
        w = t[f"{tag}.gState.{k}"]
        rel = ((v - w).abs() / (w.abs() + 1e-6)).max().item()
        if rel > 1e-4:
            print(f"   running {k}: differs by up to {rel:.2%} (torch keeps the unbiased batch variance, wax the biased)"
                  if k.endswith("var") else f"   running {k}: differs by up to {rel:.2%}")


main()
