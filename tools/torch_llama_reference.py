#!/usr/bin/python3
"""Independent Llama forward pass in PyTorch for bayling's HF-loader tests.

Reads Hugging Face checkpoint directories (config.json, model.safetensors or
model.safetensors.index.json + shards, tokens.json) and writes the logits of
every position, computed in float64 in Hugging Face's own convention
(rotate-half RoPE on the stored q_proj/k_proj rows, transformers'
LlamaForCausalLM semantics). It does not import bayling code or
transformers; safetensors files are parsed here with json + torch.frombuffer.

Usage (see internal/checkpoint/testdata/README.md):
  BAYLING_HF_FIXTURES=/tmp/hf go test -run TestWriteHFFixtures ./internal/checkpoint
  /usr/bin/python3 tools/torch_llama_reference.py /tmp/hf internal/checkpoint/testdata/hf_golden.json
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = bytearray(data[base + a : base + b])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]) if b > a else torch.empty(0, dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).to(torch.float64)
    return out


def read_weights(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        w = {}
        for s in shards:
            w.update(read_safetensors(os.path.join(d, s)))
        return w
    return read_safetensors(os.path.join(d, "model.safetensors"))


def inv_freq(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    # float32 like transformers' default rope init, then widened
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    inv = inv.to(torch.float64)
    rs = cfg.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "llama3":
            factor = rs["factor"]
            lo, hi = rs["low_freq_factor"], rs["high_freq_factor"]
            old = rs["original_max_position_embeddings"]
            lo_wave, hi_wave = old / lo, old / hi
            out = []
            for f in inv.tolist():
                wave = 2 * math.pi / f
                if wave < hi_wave:
                    out.append(f)
                elif wave > lo_wave:
                    out.append(f / factor)
                else:
                    s = (old / wave - lo) / (hi - lo)
                    out.append((1 - s) * f / factor + s * f)
            inv = torch.tensor(out, dtype=torch.float64)
        elif kind == "linear":
            inv = inv / rs["factor"]
        elif kind not in (None, "default"):
            raise SystemExit(f"rope_scaling {kind} not implemented")
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rms_norm(x, w, eps):
    return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def forward(d, tokens):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    w = read_weights(d)
    dim = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or dim // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    T = len(tokens)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    pos = torch.arange(T, dtype=torch.float64)
    ang = torch.outer(pos, inv_freq(cfg, hd))
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, nh, hd).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(T, nh * hd)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    out = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ out.T


def main():
    root, dst = sys.argv[1], sys.argv[2]
    golden = {}
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.exists(os.path.join(d, "config.json")):
            continue
        with open(os.path.join(d, "tokens.json")) as f:
            tokens = json.load(f)
        logits = forward(d, tokens)
        golden[name] = {
            "tokens": tokens,
            "logits": [[float(f"{v:.9g}") for v in row] for row in logits.tolist()],
        }
        print(f"{name}: {len(tokens)} positions x {logits.shape[1]} logits", file=sys.stderr)
    with open(dst, "w") as f:
        json.dump({"source": "tools/torch_llama_reference.py, torch " + torch.__version__ + ", float64", "models": golden}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
