"""The oracles of SeqGAN's synthetic benchmark (Yu et al. 2017, section 5.1).

An LSTM plays the role of the real data distribution: it generates the training set, and it scores a generator's
samples (NLL-oracle). Both are an `LSTMGenerator` with frozen weights:

- `build_oracle(seed)`: textgan's seeded oracle, every parameter drawn from N(0, 1) (no download).
- `seqgan_oracle_from_arrays(arrays)`: the authors' published oracle (`save/target_params_py3.pkl` of
  github.com/LantaoYu/SeqGAN) from its 15 arrays, mapped onto `nn.LSTM`. Reading the file is the data's job
  (`textgan.data.oracle.load_seqgan_oracle`, a numpy-only unpickler).
"""

from __future__ import annotations

import numpy as np
import torch

from textgan.models.lstm import LSTMGenerator

# shapes of the authors' 15 arrays for vocabulary V, embedding E, hidden H (their `target_lstm.py`)
SEQGAN_ARRAYS = ("embedding", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc", "bc", "Wo", "bo")


def build_oracle(vocab_size: int = 5000, embed_dim: int = 32, hidden_dim: int = 32, seed: int = 0) -> LSTMGenerator:
    """A deterministic oracle: the same arguments give the same weights on every machine (CPU RNG)."""
    oracle = LSTMGenerator(vocab_size, embed_dim, hidden_dim)
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(oracle.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=rng))
    oracle.requires_grad_(False)
    return oracle.eval()


def seqgan_oracle_from_arrays(arrays: list[np.ndarray]) -> LSTMGenerator:
    """The authors' oracle LSTM from their 15 arrays (order `SEQGAN_ARRAYS`).

    Their cell (row vectors, TensorFlow convention): `i = σ(x Wi + h Ui + bi)`, `f = σ(x Wf + h Uf + bf)`,
    `o = σ(x Wog + h Uog + bog)`, `g = tanh(x Wc + h Uc + bc)`, `c' = f c + i g`, `h' = o tanh(c')`, logits
    `h' Wo + bo`, `h0 = c0 = 0`, first input the embedding of token 0. `nn.LSTM` computes `W_ih x + b_ih +
    W_hh h + b_hh` with gates stacked i, f, g, o, so `weight_ih = [Wi; Wf; Wc; Wog]^T` (each block transposed),
    `weight_hh = [Ui; Uf; Uc; Uog]^T`, `bias_ih = [bi, bf, bc, bog]`, `bias_hh = 0`; output weight `Wo^T`, bias `bo`.
    """
    if len(arrays) != len(SEQGAN_ARRAYS):
        raise ValueError(f"SeqGAN's oracle has {len(SEQGAN_ARRAYS)} arrays, this file has {len(arrays)}: it is not "
                         "target_params_py3.pkl. Delete it and download it again.")
    a = dict(zip(SEQGAN_ARRAYS, (torch.from_numpy(np.asarray(x, dtype=np.float32)) for x in arrays)))
    vocab_size, embed_dim = a["embedding"].shape
    hidden_dim = a["Ui"].shape[0]
    expected = {"embedding": (vocab_size, embed_dim), "Wo": (hidden_dim, vocab_size), "bo": (vocab_size,)}
    for gate in ("i", "f", "og", "c"):
        expected |= {f"W{gate}": (embed_dim, hidden_dim), f"U{gate}": (hidden_dim, hidden_dim),
                     f"b{gate}": (hidden_dim,)}
    for name, shape in expected.items():
        if tuple(a[name].shape) != shape:
            raise ValueError(f"SeqGAN oracle array {name} has shape {tuple(a[name].shape)}, expected {shape}: the "
                             "file is not target_params_py3.pkl. Delete it and download it again.")
    oracle = LSTMGenerator(vocab_size, embed_dim, hidden_dim, start_token=0)
    gates = ("i", "f", "c", "og")  # nn.LSTM's order i, f, g, o
    with torch.no_grad():
        oracle.embedding.weight.copy_(a["embedding"])
        oracle.lstm.weight_ih_l0.copy_(torch.cat([a[f"W{g}"].T for g in gates]))
        oracle.lstm.weight_hh_l0.copy_(torch.cat([a[f"U{g}"].T for g in gates]))
        oracle.lstm.bias_ih_l0.copy_(torch.cat([a[f"b{g}"] for g in gates]))
        oracle.lstm.bias_hh_l0.zero_()
        oracle.output.weight.copy_(a["Wo"].T)
        oracle.output.bias.copy_(a["bo"])
    oracle.requires_grad_(False)
    return oracle.eval()
