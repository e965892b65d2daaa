"""RelGAN's generator (Nie, Narodytska & Patel, ICLR 2019, section 2.1 and Figure 1): a relational memory core.

`RelationalMemory` is the core of Santoro et al. 2018 ("Relational recurrent neural networks", section 3, Figure
1) with one attention block, as the RelGAN authors' `relational_memory.py` runs it. One step, for the memory
M `[batch, mem_slots, mem_size]` (mem_size = num_heads * head_size) and the input x `[batch, input_size]`:

    x~  = W_x x + b_x                                         the input as one more slot  [batch, 1, mem_size]
    Z   = [M; x~]                                             [batch, mem_slots + 1, mem_size]
    Q, K, V = per-head splits of LN(Z W_qkv)                  (no bias; LN over slots and features)
    A   = concat_h softmax(Q_h K_h^T / sqrt(3 head_size)) V_h  multi-head attention over memory and input
    Z'  = LN(Z + A);  Z'' = LN(Z' + MLP(Z'))                  MLP: 2 layers of mem_size, ReLU between
    M~  = Z''[:, :mem_slots]                                  the input slot is dropped
    i, f = sigmoid(x~ W_i + tanh(M) U_i + b_i), sigmoid(x~ W_f + tanh(M) U_f + b_f)   per unit (b_i 0, b_f 1)
    M'  = i * tanh(M~) + f * M                                the gated update (an LSTM's, Santoro eq. 7-8)

and the step's output is M' flattened, `[batch, mem_slots * mem_size]`. The scale 1/sqrt(3 head_size) (the
size of one head's query, key and value together) and the layer norm over the slots and features at once with
per-feature gain and bias are those of the authors' code (TensorFlow's `layer_norm` on a `[batch, slots,
features]` tensor). The first memory is the identity, padded or truncated to `[mem_slots, mem_size]`.

`RMCGenerator`: embedding -> relational memory -> linear logits o_t over the vocabulary, fed back the embedding
of the drawn token. For adversarial training `relaxed_sample` draws y_t = argmax(o_t + g_t) with Gumbel noise
g_t (an exact sample of softmax(o_t)) and gives the discriminator the relaxed one-hot softmax(beta (o_t + g_t))
(RelGAN eq. 2-3, `textgan.sampling.gumbel_max_relaxed`); the next input is y_t's embedding, as the authors'
code. Teacher-forced `forward`, `log_probs` (NLL-test) and `sample` (evaluation) are those of
`textgan.models.lstm.LSTMGenerator`. The first input is a learned start vector, so the vocabulary needs no
`<bos>`; parameters start at PyTorch's initialisation.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from textgan.masks import pad_after_eos
from textgan.sampling import greedy, gumbel_max_relaxed, sample_next


class SlotFeatureNorm(nn.Module):
    """Layer norm of `[batch, slots, features]` over the slots and features together, with a gain and a bias
    per feature (TensorFlow's `layer_norm` with its default `begin_norm_axis=1`, `begin_params_axis=-1`)."""

    def __init__(self, features: int, eps: float = 1e-12):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-2:], eps=self.eps) * self.weight + self.bias


class RelationalMemory(nn.Module):
    """One step of the relational memory core (module docstring): `(x [batch, input_size], memory [batch,
    mem_slots, mem_size]) -> (output [batch, mem_slots * mem_size], next memory)`.

    Args:
        input_size: size of the input x.
        mem_slots, head_size, num_heads: the memory's rows, and its row size `num_heads * head_size`
            (RelGAN's oracle runs: 1, 256, 2).
        forget_bias, input_bias: constants added to the gates' pre-activations (Santoro et al.: 1 and 0).
    """

    def __init__(self, input_size: int, mem_slots: int = 1, head_size: int = 256, num_heads: int = 2,
                 forget_bias: float = 1.0, input_bias: float = 0.0):
        super().__init__()
        self.mem_slots, self.head_size, self.num_heads = mem_slots, head_size, num_heads
        self.mem_size = head_size * num_heads
        self.forget_bias, self.input_bias = forget_bias, input_bias
        self.input_projection = nn.Linear(input_size, self.mem_size)
        self.qkv = nn.Linear(self.mem_size, 3 * self.mem_size, bias=False)
        self.qkv_norm = SlotFeatureNorm(3 * self.mem_size)
        self.attention_norm = SlotFeatureNorm(self.mem_size)
        self.mlp = nn.Sequential(nn.Linear(self.mem_size, self.mem_size), nn.ReLU(),
                                 nn.Linear(self.mem_size, self.mem_size))
        self.mlp_norm = SlotFeatureNorm(self.mem_size)
        self.gate_input = nn.Linear(self.mem_size, 2 * self.mem_size, bias=False)
        self.gate_memory = nn.Linear(self.mem_size, 2 * self.mem_size, bias=False)

    @property
    def output_size(self) -> int:
        return self.mem_slots * self.mem_size

    def initial_memory(self, batch_size: int, device=None, dtype=None) -> torch.Tensor:
        """The identity `[batch, mem_slots, mem_size]`, zero-padded or truncated to mem_size columns."""
        eye = torch.eye(self.mem_slots, max(self.mem_slots, self.mem_size), device=device, dtype=dtype)
        return eye[:, :self.mem_size].expand(batch_size, -1, -1).contiguous()

    def attend(self, slots: torch.Tensor) -> torch.Tensor:
        """Multi-head attention of `slots` `[batch, n, mem_size]` over themselves -> `[batch, n, mem_size]`."""
        b, n, _ = slots.shape
        qkv = self.qkv_norm(self.qkv(slots))  # [b, n, 3 * mem_size]
        # [b, n, heads, 3 * head_size] -> [b, heads, n, 3 * head_size]: each head has its query, key and value
        q, k, v = qkv.view(b, n, self.num_heads, 3 * self.head_size).transpose(1, 2).split(self.head_size, dim=-1)
        weights = torch.softmax((q * (3 * self.head_size) ** -0.5) @ k.transpose(-1, -2), dim=-1)  # [b, h, n, n]
        return (weights @ v).transpose(1, 2).reshape(b, n, self.mem_size)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = self.input_projection(x).unsqueeze(1)  # [b, 1, mem_size]
        slots = torch.cat([memory, inputs], dim=1)
        slots = self.attention_norm(slots + self.attend(slots))
        slots = self.mlp_norm(slots + self.mlp(slots))
        candidate = slots[:, :self.mem_slots]
        input_gate, forget_gate = (self.gate_input(inputs) + self.gate_memory(torch.tanh(memory))).chunk(2, dim=-1)
        next_memory = torch.sigmoid(input_gate + self.input_bias) * torch.tanh(candidate) \
            + torch.sigmoid(forget_gate + self.forget_bias) * memory
        return next_memory.flatten(1), next_memory


class RMCGenerator(nn.Module):
    """RelGAN's generator over `vocab_size` tokens: embedding -> `RelationalMemory` -> linear logits.

    Args:
        vocab_size: output (and input) vocabulary size.
        embed_dim: token embedding size (RelGAN: 32).
        mem_slots, head_size, num_heads: the memory (RelGAN's oracle runs: 1 slot, 2 heads of 256).
        pad_id, eos_id: from the vocabulary (None for fixed-length corpora such as the oracle's). Sampling writes
            `<pad>` after the first `<eos>`.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 32, mem_slots: int = 1, head_size: int = 256,
                 num_heads: int = 2, pad_id: int | None = None, eos_id: int | None = None):
        super().__init__()
        self.vocab_size, self.pad_id, self.eos_id = vocab_size, pad_id, eos_id
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.start = nn.Parameter(torch.zeros(embed_dim))
        self.memory = RelationalMemory(embed_dim, mem_slots, head_size, num_heads)
        self.output = nn.Linear(self.memory.output_size, vocab_size)

    # --------------------------------------------------------------- one step
    def init_state(self, batch_size: int) -> torch.Tensor:
        """The first memory `[batch, mem_slots, mem_size]`."""
        w = self.output.weight
        return self.memory.initial_memory(batch_size, w.device, w.dtype)

    def embed(self, tokens: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Input vectors `[batch, embed]`: the learned start vector when `tokens` is None."""
        return self.start.expand(batch_size, -1) if tokens is None else self.embedding(tokens)

    def step(self, tokens: torch.Tensor | None, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Consume one token per row (`[batch]` long, or None for the start) -> next-token logits `[batch, vocab]`
        and the next memory."""
        out, state = self.memory(self.embed(tokens, state.shape[0]), state)
        return self.output(out), state

    # --------------------------------------------------------------- whole sequences
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits `[batch, seq_len, vocab]`: position t is the distribution of token t given `<t`."""
        state = self.init_state(tokens.shape[0])
        logits, state = self.step(None, state)
        out = [logits]
        for t in range(tokens.shape[1] - 1):
            logits, state = self.step(tokens[:, t], state)
            out.append(logits)
        return torch.stack(out, dim=1)

    def log_probs(self, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """`log G(y_t | y_<t)` for every position: `[batch, seq_len]` (float32, padding not masked), under
        `log_softmax(logits / temperature)`, the distribution `sample(..., temperature=T)` draws from."""
        logits = self(tokens).float()
        if temperature != 1.0:
            if not temperature > 0:
                raise ValueError(f"log-probabilities need a temperature > 0, got {temperature}")
            logits = logits / temperature
        return F.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def relaxed_sample(self, num_samples: int, seq_len: int, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        """RelGAN's adversarial sample (eq. 2-3): ids y `[num_samples, seq_len]` (y_t = argmax(o_t + g_t)) and the
        relaxed one-hots `[num_samples, seq_len, vocab]` (softmax(beta (o_t + g_t)), float32, differentiable in
        the parameters); y_t's embedding is the next input. No `<pad>` is written after `<eos>`: the
        discriminator reads the whole relaxed sequence, as it reads the padded real one."""
        state = self.init_state(num_samples)
        logits, state = self.step(None, state)
        tokens, relaxed = [], []
        for t in range(seq_len):
            y, y_hat = gumbel_max_relaxed(logits, beta)
            tokens.append(y)
            relaxed.append(y_hat)
            if t + 1 < seq_len:
                logits, state = self.step(y, state)
        return torch.stack(tokens, dim=1), torch.stack(relaxed, dim=1)

    @torch.no_grad()
    def sample(self, num_samples: int, seq_len: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
               decode: str = "sample") -> torch.Tensor:
        """Draw `[num_samples, seq_len]` token ids (`decode` = "sample" or "greedy"); `<pad>` after `<eos>`."""
        state = self.init_state(num_samples)
        logits, state = self.step(None, state)
        out = []
        for t in range(seq_len):
            tok = greedy(logits) if decode == "greedy" else sample_next(logits, temperature, top_k, top_p)
            out.append(tok)
            if t + 1 < seq_len:
                logits, state = self.step(tok, state)
        return pad_after_eos(torch.stack(out, dim=1), self.eos_id, self.pad_id)
