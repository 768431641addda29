"""PyTorch CPU timings for the kernels in bench/cpu_bench.ts; prints one JSON object.

Run with Debian's python3-torch and libopenblas0-pthread: /usr/bin/python3 bench/peers/torch_cpu.py
"""
import json
import os
import sys
import time

import torch


def timeit(fn, min_time=1.0, max_iters=200):
    fn()
    n, t0 = 0, time.perf_counter()
    while n < max_iters and (n < 3 or time.perf_counter() - t0 < min_time):
        fn()
        n += 1
    return (time.perf_counter() - t0) / n * 1e3


def curves():
    """--curves: matmul 64..4096, the DCGAN conv forward by batch size, the DCGAN step by batch size."""
    torch.set_num_threads(os.cpu_count() or 1)
    out = {"matmul": {}, "conv": {}, "dcgan": {}}
    for n in [64, 128, 256, 512, 1024, 2048, 4096]:
        a, b = torch.randn(n, n), torch.randn(n, n)
        out["matmul"][n] = timeit(lambda: a @ b, min_time=0.5)
    w = torch.randn(128, 64, 5, 5) * 0.05
    with torch.no_grad():
        for bs in [8, 16, 32, 64, 128]:
            x = torch.randn(bs, 64, 14, 14)
            out["conv"][bs] = timeit(lambda: torch.nn.functional.conv2d(x, w, stride=2, padding=2), min_time=0.5)
    for bs in [16, 32, 64, 128, 256]:
        out["dcgan"][bs] = dcgan_step_ms(True, bs)
    print(json.dumps(out))


def main():
    if "--curves" in sys.argv:
        return curves()
    quick = "--quick" in sys.argv
    # Use every core, like wax (Debian's build otherwise starts with one OpenMP thread here).
    torch.set_num_threads(os.cpu_count() or 1)
    out = {"threads": torch.get_num_threads(), "version": torch.__version__, "ms": {}}
    for n in [256] if quick else [256, 512, 1024, 2048]:
        a, b = torch.randn(n, n), torch.randn(n, n)
        out["ms"][f"matmul {n}"] = timeit(lambda: a @ b)
    x = torch.randn(64, 64, 14, 14, requires_grad=True)
    w = (torch.randn(128, 64, 5, 5) * 0.05).requires_grad_(True)
    conv = lambda: torch.nn.functional.conv2d(x, w, stride=2, padding=2)
    with torch.no_grad():
        out["ms"]["conv fwd"] = timeit(conv)

    def fwd_bwd():
        x.grad = w.grad = None
        conv().sum().backward()

    out["ms"]["conv fwd+bwd"] = timeit(fwd_bwd)
    out["ms"]["dcgan step"] = dcgan_step_ms(quick)
    print(json.dumps(out))


def dcgan_step_ms(quick, batch=64):
    """The TensorFlow-tutorial DCGAN (as models/dcgan.ts): one D update then one G update."""
    nn = torch.nn
    lrelu = lambda: nn.LeakyReLU(0.3)
    G = nn.Sequential(
        nn.Linear(100, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256), lrelu(),
        nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False), nn.BatchNorm2d(128), lrelu(),
        nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False), nn.BatchNorm2d(64), lrelu(),
        nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1), nn.Tanh(),
    )
    D = nn.Sequential(
        nn.Conv2d(1, 64, 5, stride=2, padding=2), lrelu(), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, stride=2, padding=2), lrelu(), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
    )
    og = torch.optim.Adam(G.parameters(), 1e-4)
    od = torch.optim.Adam(D.parameters(), 1e-4)
    bce = nn.BCEWithLogitsLoss()
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        fake = G(torch.randn(batch, 100))
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        od.zero_grad()
        d_loss.backward()
        od.step()
        g_loss = bce(D(G(torch.randn(batch, 100))), ones)
        og.zero_grad()
        g_loss.backward()
        og.step()

    return timeit(step, min_time=0.5 if quick else 3.0)


main()
