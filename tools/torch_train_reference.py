#!/usr/bin/python3
"""PyTorch reference for internal/train (golden values for reference_test.go).

Builds the tiny Llama-3-shaped model of internal/train's tests (GQA, untied
output, rope_theta 500000) with the same SplitMix64 initial weights and the
same two packed micro-batches, then runs 3 optimizer steps with PyTorch's own
autograd, clip_grad_norm_ and AdamW (float64), and writes:

  loss            F64 [4]  mean loss before each step and after the last
  grad.<name>     F32      gradients of step 3 (before clipping)
  final.<name>    F32      weights after step 3

to internal/train/testdata/torch_reference.safetensors. RoPE rotates
adjacent pairs (GGUF / llama2.c convention), as the Go forward does.

Usage: /usr/bin/python3 tools/torch_train_reference.py [OUT]
       /usr/bin/python3 tools/torch_train_reference.py --bench THREADS [STEPS]

--bench times full training steps (forward, backward, AdamW; float32) on the
stories15M shape (dim 288, 6 layers, 6 heads, hidden 768, vocab 32000, tied
embeddings, batch 8x256) with the same model code, and prints tokens/s per
step; it is the PyTorch side of BENCHMARKS.md's training table.
"""
import json
import math
import struct
import sys

import numpy as np
import torch

M64 = (1 << 64) - 1

CFG = dict(dim=32, hidden=48, layers=2, heads=4, kv_heads=2, vocab=64, eps=1e-5, theta=500000.0)
LR, MIN_LR, WARMUP, TOTAL = 1e-2, 1e-3, 1, 3
BETAS, ADAM_EPS, WD, CLIP = (0.9, 0.95), 1e-8, 0.1, 1.0


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):  # [-1, 1), 24 bits, exact in float32
        return float((self.next() >> 40) - (1 << 23)) / (1 << 23)

    def intn(self, n):
        return self.next() % n


def param_specs():
    c = CFG
    hs = c["dim"] // c["heads"]
    qd, kvd = c["heads"] * hs, c["kv_heads"] * hs
    specs = [("token_embd.weight", (c["vocab"], c["dim"]), True)]
    for i in range(c["layers"]):
        specs += [
            (f"blk.{i}.attn_norm.weight", (c["dim"],), False),
            (f"blk.{i}.attn_q.weight", (qd, c["dim"]), True),
            (f"blk.{i}.attn_k.weight", (kvd, c["dim"]), True),
            (f"blk.{i}.attn_v.weight", (kvd, c["dim"]), True),
            (f"blk.{i}.attn_output.weight", (c["dim"], qd), True),
            (f"blk.{i}.ffn_norm.weight", (c["dim"],), False),
            (f"blk.{i}.ffn_gate.weight", (c["hidden"], c["dim"]), True),
            (f"blk.{i}.ffn_up.weight", (c["hidden"], c["dim"]), True),
            (f"blk.{i}.ffn_down.weight", (c["dim"], c["hidden"]), True),
        ]
    specs += [("output_norm.weight", (c["dim"],), False), ("output.weight", (c["vocab"], c["dim"]), True)]
    return specs


def init_params(seed=1, scale=0.2):
    r = SplitMix64(seed)
    params = {}
    for name, shape, decay in param_specs():
        n = int(np.prod(shape))
        vals = [r.uniform() for _ in range(n)]
        a = np.array(vals, dtype=np.float32)
        a = scale * a if decay else 1 + np.float32(0.1) * a
        params[name] = torch.tensor(a.astype(np.float32).astype(np.float64).reshape(shape), requires_grad=True)
    return params


def batch(seed, vocab=64):
    """Mirror of tinyBatch in net_test.go: rows of 16 tokens, row 0 packs
    two sequences (10 + 6), targets masked for the first 2 tokens and last."""
    r = SplitMix64(seed)
    toks, pos, tgt = [], [], []
    for row in ([10, 6], [16]):
        for L in row:
            seq = [r.intn(vocab) for _ in range(L)]
            toks += seq
            pos += list(range(L))
            tgt += [seq[t + 1] if 2 <= t and t + 1 < L else -1 for t in range(L)]
    return torch.tensor(toks).view(2, 16), torch.tensor(pos).view(2, 16), torch.tensor(tgt).view(2, 16)


def rope_tables(pos, hs, theta):
    i = np.arange(hs // 2, dtype=np.float32)
    f = (np.float32(1) / np.power(np.float32(theta), (np.float32(2) * i) / np.float32(hs), dtype=np.float32)).astype(np.float32)
    ang = (pos.numpy().astype(np.float32)[..., None] * f).astype(np.float64)  # float32 product, as in Go
    dt = torch.get_default_dtype()
    return torch.tensor(np.cos(ang), dtype=dt), torch.tensor(np.sin(ang), dtype=dt)


def rope(x, cos, sin):  # x: B,T,H,hs ; adjacent pairs
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, :, None, :], sin[:, :, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)


def rmsnorm(x, w, eps):
    return w * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))


def loss_sum(p, toks, pos, tgt):
    c = CFG
    B, T = toks.shape
    H, G = c["heads"], c["kv_heads"]
    hs = c["dim"] // H
    cos, sin = rope_tables(pos, hs, c["theta"])
    t_idx = torch.arange(T)
    start = t_idx[None, :] - pos  # segment start of each query
    allowed = (t_idx[None, None, :] <= t_idx[None, :, None]) & (t_idx[None, None, :] >= start[:, :, None])  # B,T,T
    x = p["token_embd.weight"][toks]
    for i in range(c["layers"]):
        h = rmsnorm(x, p[f"blk.{i}.attn_norm.weight"], c["eps"])
        q = (h @ p[f"blk.{i}.attn_q.weight"].T).view(B, T, H, hs)
        k = (h @ p[f"blk.{i}.attn_k.weight"].T).view(B, T, G, hs)
        v = (h @ p[f"blk.{i}.attn_v.weight"].T).view(B, T, G, hs)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        k = k.repeat_interleave(H // G, dim=2)
        v = v.repeat_interleave(H // G, dim=2)
        s = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(hs)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.softmax(s, dim=-1)
        o = torch.einsum("bhts,bshd->bthd", a, v).reshape(B, T, H * hs)
        x = x + o @ p[f"blk.{i}.attn_output.weight"].T
        h = rmsnorm(x, p[f"blk.{i}.ffn_norm.weight"], c["eps"])
        g = h @ p[f"blk.{i}.ffn_gate.weight"].T
        u = h @ p[f"blk.{i}.ffn_up.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ p[f"blk.{i}.ffn_down.weight"].T
    logits = rmsnorm(x, p["output_norm.weight"], c["eps"]) @ p["output.weight"].T
    ce = torch.nn.functional.cross_entropy(logits.view(-1, c["vocab"]), tgt.view(-1), ignore_index=-1, reduction="sum")
    return ce, int((tgt >= 0).sum())


def lr_at(step):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    prog = min((step - WARMUP) / max(TOTAL - WARMUP, 1), 1.0)
    return MIN_LR + 0.5 * (LR - MIN_LR) * (1 + math.cos(math.pi * prog))


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        b = arr.tobytes()
        header[name] = {"dtype": "F64" if arr.dtype == np.float64 else "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def bench(threads, steps):
    import time
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)
    global CFG
    CFG = dict(dim=288, hidden=768, layers=6, heads=6, kv_heads=6, vocab=32000, eps=1e-5, theta=10000.0)
    B, T = 8, 256
    g = torch.Generator().manual_seed(0)
    p = {}
    for name, shape, decay in param_specs():
        if name == "output.weight":
            continue  # tied, as stories15M
        p[name] = (torch.randn(shape, generator=g) * 0.02 if decay else torch.ones(shape)).requires_grad_()
    p["output.weight"] = p["token_embd.weight"]
    params = [v for k, v in p.items() if k != "output.weight"]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    toks = torch.randint(0, CFG["vocab"], (B, T), generator=g)
    tgt = torch.randint(0, CFG["vocab"], (B, T), generator=g)
    pos = torch.arange(T).repeat(B, 1)
    for step in range(steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        s, n = loss_sum(p, toks, pos, tgt)
        (s / n).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if step > 0:  # step 0 warms up
            print(f"torch step {step}: {B * T / dt:.1f} tokens/s {B * T / dc:.1f} tokens/cpu-s", flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--bench":
        bench(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3)
        return
    torch.set_default_dtype(torch.float64)
    out = sys.argv[1] if len(sys.argv) > 1 else "internal/train/testdata/torch_reference.safetensors"
    p = init_params()
    batches = [batch(2), batch(3)]
    specs = param_specs()
    decay = [p[n] for n, _, d in specs if d]
    nodecay = [p[n] for n, _, d in specs if not d]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=ADAM_EPS)
    losses = []
    for step in range(TOTAL):
        opt.zero_grad()
        total = sum(b[2].ge(0).sum().item() for b in batches)
        loss = 0
        for toks, pos, tgt in batches:
            s, _ = loss_sum(p, toks, pos, tgt)
            (s / total).backward()
            loss += s.item()
        losses.append(loss / total)
        grads = {n: p[n].grad.detach().clone() for n, _, _ in specs}
        torch.nn.utils.clip_grad_norm_(list(p.values()), CLIP)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.step()
    with torch.no_grad():
        total = sum(b[2].ge(0).sum().item() for b in batches)
        losses.append(sum(loss_sum(p, *b)[0].item() for b in batches) / total)
    tensors = [("loss", np.array(losses, dtype=np.float64))]
    tensors += [("grad." + n, grads[n].numpy().astype(np.float32)) for n, _, _ in specs]
    tensors += [("final." + n, p[n].detach().numpy().astype(np.float32)) for n, _, _ in specs]
    write_safetensors(out, tensors)
    print("losses", losses)


if __name__ == "__main__":
    main()
