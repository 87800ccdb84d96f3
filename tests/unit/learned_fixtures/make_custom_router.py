#!/usr/bin/env python3
"""Builds a Switchyard "custom" router artefact with nothing but the Python
standard library, the way a team training its own router outside Switchyard
would (docs/routing.md, "custom"). Regenerate the fixture with:

    python3 tests/unit/learned_fixtures/make_custom_router.py tests/unit/learned_fixtures/custom_router.syr

The network is set by hand instead of trained so the expected decisions are
obvious: prompts mentioning code go to "coder", prompts mentioning an integral
go to "big", everything else to "cheap". learned_custom_test.cpp loads the file
and checks those decisions, which proves the featurizer hash, the container
layout and the checksum are reproducible outside Switchyard.
"""
import hashlib
import json
import math
import re
import struct
import sys

MASK64 = (1 << 64) - 1


def fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & MASK64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & MASK64
    k ^= k >> 33
    return k


def normalise(text: str, max_bytes: int) -> bytes:
    raw = text.encode("utf-8")[-max_bytes:]
    return re.sub(rb"[ \t\n\r\f\v]+", b" ", raw.lower())


def word_hash(word: bytes) -> int:
    h = 0x9E3779B97F4A7C15 ^ len(word)
    for i in range(0, len(word), 8):
        h = ((h ^ int.from_bytes(word[i:i + 8], "little")) * 0xFF51AFD7ED558CCD) & MASK64
        h ^= h >> 32
    return h


def word_buckets(text: bytes, tag: bytes, min_n: int, max_n: int, bits: int):
    hashes = [word_hash(w) for w in re.findall(rb"[a-z0-9_\x80-\xff]+", text)]
    out = []
    for i in range(len(hashes)):
        for n in range(min_n, max_n + 1):
            if i + n > len(hashes):
                break
            g = fmix64((tag[0] << 8) | n)
            for h in hashes[i:i + n]:
                g = ((g ^ h) * 0xC4CEB9FE1A85EC53) & MASK64
                g ^= g >> 29
            out.append(fmix64(g) & ((1 << bits) - 1))
    return out


def char_buckets(text: bytes, min_n: int, max_n: int, bits: int):
    # Multiply-shift hash of the n-gram bytes read little-endian, n in the top byte.
    out = []
    for i in range(len(text)):
        for n in range(min_n, max_n + 1):
            if i + n > len(text):
                break
            key = int.from_bytes(text[i:i + n], "little") | (n << 56)
            out.append(((key * 0x9E3779B97F4A7C15) & MASK64) >> (64 - bits))
    return out


def featurize(text: str, spec: dict, idf=None) -> dict:
    """Sparse feature vector {index: value} exactly as Switchyard computes it."""
    bits = spec["hash_bits"]
    norm = normalise(text, spec["max_bytes"])
    total = {}
    for block in spec["blocks"]:
        if block["kind"] == "word":
            buckets = word_buckets(norm, b"w", block["min_n"], block["max_n"], bits)
        elif block["kind"] == "tail_word":
            buckets = word_buckets(norm[-block["tail_bytes"]:], b"t", block["min_n"],
                                   block["max_n"], bits)
        else:
            tail = block.get("tail_bytes", 0)
            buckets = char_buckets(norm[-tail:] if tail else norm, block["min_n"],
                                   block["max_n"], bits)
        counts = {}
        for b in buckets:
            counts[b] = counts.get(b, 0) + 1
        values = {b: (1 + math.log(c)) * (idf[b] if idf else 1.0) for b, c in counts.items()}
        n2 = math.sqrt(sum(v * v for v in values.values()))
        for b, v in values.items():
            total[b] = total.get(b, 0.0) + block["weight"] * v / n2
    n2 = math.sqrt(sum(v * v for v in total.values())) or 1.0
    out = {b: v / n2 for b, v in total.items()}
    if spec.get("dense_weight", 0) > 0:
        raw = text.encode("utf-8")
        full = len(raw)
        raw = raw[-spec["max_bytes"]:]
        n = max(1, len(raw))
        dense = [math.log1p(full) / 10.0,
                 min(1.0, 20.0 * raw.count(b"\n") / n),
                 min(1.0, 5.0 * sum(48 <= c <= 57 for c in raw) / n),
                 min(1.0, 5.0 * sum(c in b"{}[]();=<>_#" for c in raw) / n)]
        for j, v in enumerate(dense):
            if v:
                out[(1 << bits) + j] = v * spec["dense_weight"]
    return out


def write_artefact(path: str, header: dict, tensors: dict) -> str:
    """tensors: name -> (dtype "f32"|"u32"|"u64", shape list, flat list of numbers)."""
    codes = {"f32": "f", "u32": "I", "u64": "Q"}
    directory, data = {}, b""
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        data += b"\0" * (-len(data) % 8)
        blob = struct.pack("<%d%s" % (len(values), codes[dtype]), *values)
        directory[name] = {"dtype": dtype, "shape": shape, "offset": len(data), "bytes": len(blob)}
        data += blob
    header = dict(header, tensors=directory)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    payload = text + data
    digest = hashlib.sha256(payload).digest()
    prelude = b"SYROUTER" + struct.pack("<IIQQ", 1, 0, len(text), len(data)) + digest
    with open(path, "wb") as f:
        f.write(prelude + payload)
    return digest.hex()


def main(path: str) -> None:
    candidates = ["cheap", "coder", "big"]
    spec = {"type": "hashed_tfidf", "hash_bits": 10, "use_idf": False, "dense_weight": 0.0,
            "max_bytes": 32768,
            "blocks": [{"kind": "word", "min_n": 1, "max_n": 1, "weight": 1.0}]}
    dim = 1 << spec["hash_bits"]
    hidden = 2
    # Layer 0 (dim x 2, relu): unit 0 fires on code words, unit 1 on maths words.
    w0 = [0.0] * (dim * hidden)
    for word in ["code", "python", "function", "compile"]:
        w0[word_buckets(word.encode(), b"w", 1, 1, 10)[0] * hidden + 0] += 3.0
    for word in ["integral", "derivative", "equation"]:
        w0[word_buckets(word.encode(), b"w", 1, 1, 10)[0] * hidden + 1] += 3.0
    b0 = [0.0, 0.0]
    # Layer 1 (2 x 3, sigmoid): cheap by default, coder/big when their unit fires.
    w1 = [-4.0, 4.0, 0.0,
          -4.0, -2.0, 5.0]
    b1 = [1.0, -1.0, -1.5]
    header = {
        "format": "switchyard-router",
        "format_version": 1,
        "strategy": "custom",
        "model_version": "handmade-1",
        "created_at": "2025-01-01T00:00:00Z",
        "candidates": [
            {"name": "cheap", "cost": {"fixed_usd": 0.0001, "per_char_usd": 0.0}, "prior_quality": 0.5},
            {"name": "coder", "cost": {"fixed_usd": 0.001, "per_char_usd": 0.0}, "prior_quality": 0.5},
            {"name": "big", "cost": {"fixed_usd": 0.01, "per_char_usd": 0.0}, "prior_quality": 0.5},
        ],
        "featurizer": spec,
        "model": {"type": "feedforward", "layers": [
            {"weight": "l0.w", "bias": "l0.b", "activation": "relu"},
            {"weight": "l1.w", "bias": "l1.b", "activation": "sigmoid"}]},
        "training": {"tool": "make_custom_router.py (hand-set weights)"},
    }
    tensors = {"l0.w": ("f32", [dim, hidden], w0), "l0.b": ("f32", [hidden], b0),
               "l1.w": ("f32", [hidden, 3], w1), "l1.b": ("f32", [3], b1)}
    print(write_artefact(path, header, tensors))


if __name__ == "__main__":
    main(sys.argv[1])
