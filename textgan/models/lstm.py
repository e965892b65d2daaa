"""`LSTMGenerator`: the autoregressive generator used by MLE, SeqGAN and the oracle benchmark.

As in SeqGAN (Yu et al. 2017, section 4): embedding -> LSTM -> linear -> softmax over the vocabulary.
The first input is a learned start vector, so the vocabulary needs no `<bos>` (the oracle's has none). It is a
`textgan.policy.Policy` (`step`, `prefix_states`, `index_state`), which Monte Carlo rollouts step through.

`init="seqgan"` is the authors' LSTM instead (their `generator.py`): every parameter drawn from N(0, 0.1), one bias
per gate (PyTorch's second bias, `bias_hh`, is held at zero), and the embedding of token `start_token` (their
`START_TOKEN = 0`, an ordinary token) as the first input. The default is PyTorch's initialisation.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from textgan.masks import pad_after_eos
from textgan.models.recurrence import float32_recurrence
from textgan.sampling import greedy, sample_next

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each [num_layers, batch, hidden]


class LSTMGenerator(nn.Module):
    """Autoregressive LSTM language model over `vocab_size` tokens.

    Args:
        vocab_size: output (and input) vocabulary size.
        embed_dim, hidden_dim, num_layers: sizes (SeqGAN: 32, 32, 1).
        pad_id, eos_id: from the vocabulary (None for fixed-length corpora such as the oracle's). Sampling writes
            `<pad>` after the first `<eos>`.
        init: "pytorch" (PyTorch's default initialisation, a learned start vector) or "seqgan" (the authors'
            N(0, 0.1) for every parameter, `bias_hh` fixed at 0, the embedding of `start_token` as first input).
        start_token: first input is this token's embedding instead of a learned vector (None: learned vector;
            `init="seqgan"` defaults it to 0 as the authors' code).
    """

    inits = ("pytorch", "seqgan")

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 32,
        hidden_dim: int = 32,
        num_layers: int = 1,
        pad_id: int | None = None,
        eos_id: int | None = None,
        init: Literal["pytorch", "seqgan"] = "pytorch",
        start_token: int | None = None,
    ):
        super().__init__()
        if init not in self.inits:
            raise ValueError(f"method.generator.init must be one of {self.inits}, got {init!r}")
        if init == "seqgan" and start_token is None:
            start_token = 0  # the authors' START_TOKEN
        if start_token is not None and not 0 <= start_token < vocab_size:
            raise ValueError(f"method.generator.start_token={start_token} is not a token id (vocabulary size "
                             f"{vocab_size}); use an id in 0..{vocab_size - 1} or null for a learned start vector")
        self.vocab_size, self.pad_id, self.eos_id = vocab_size, pad_id, eos_id
        self.init, self.start_token = init, start_token
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        if start_token is None:
            self.start = nn.Parameter(torch.zeros(embed_dim))
        else:
            self.register_parameter("start", None)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.output = nn.Linear(hidden_dim, vocab_size)
        if init == "seqgan":
            self.reset_parameters_seqgan()

    def reset_parameters_seqgan(self, std: float = 0.1) -> None:
        """The authors' initialisation (`init_matrix`: `tf.random_normal(shape, stddev=0.1)` for every weight and
        bias). Their cell has one bias per gate, so `bias_hh_l*` is zeroed and frozen: `bias_ih` is that bias."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("lstm.bias_hh"):
                    p.zero_()
                    p.requires_grad_(False)
                else:
                    p.normal_(0.0, std)

    # --------------------------------------------------------------- one step
    def init_state(self, batch_size: int) -> State:
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        w = self.output.weight
        z = torch.zeros(shape, device=w.device, dtype=w.dtype)
        return z, z.clone()

    def embed(self, tokens: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Input vectors `[batch, embed]`: the start input (learned vector or `start_token`'s embedding) when
        `tokens` is None."""
        if tokens is None:
            if self.start is None:
                return self.embedding.weight[self.start_token].expand(batch_size, -1)
            return self.start.expand(batch_size, -1)
        return self.embedding(tokens)

    def step(self, tokens: torch.Tensor | None, state: State) -> tuple[torch.Tensor, State]:
        """Consume one token per row (`[batch]` long, or None for the start) -> next-token logits `[batch, vocab]`."""
        x = self.embed(tokens, state[0].shape[1]).unsqueeze(1)
        out, state = self._lstm(x, state)
        return self.output(out.squeeze(1)), state

    def _lstm(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The recurrence in float32 even under autocast (`textgan.models.recurrence`); the output projection,
        the expensive part, still runs in the autocast dtype."""
        return float32_recurrence(self.lstm, x, state)

    # --------------------------------------------------------------- whole sequences
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits `[batch, seq_len, vocab]`: position t is the distribution of token t given `<t`."""
        b = tokens.shape[0]
        inputs = torch.cat([self.embed(None, b).unsqueeze(1), self.embedding(tokens[:, :-1])], dim=1)
        out, _ = self._lstm(inputs, self.init_state(b))
        return self.output(out)

    def log_probs(self, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """`log G(y_t | y_<t)` for every position: `[batch, seq_len]` (float32, padding not masked).

        `temperature` T scores under the tempered model `log_softmax(logits / T)`, the distribution that
        `sample(..., temperature=T)` draws from (T = 1: the model itself)."""
        logits = self(tokens).float()
        if temperature != 1.0:
            if not temperature > 0:
                raise ValueError(f"log-probabilities need a temperature > 0, got {temperature}")
            logits = logits / temperature
        logp = F.log_softmax(logits, dim=-1)
        return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def prefix_states(self, tokens: torch.Tensor) -> tuple[list[State], torch.Tensor]:
        """The state after consuming each prefix, computed once: used by Monte Carlo rollouts.

        Returns `states` (list of length seq_len; `states[t]` is the state after tokens `0..t`) and
        `next_logits` `[batch, seq_len, vocab]` where `next_logits[:, t]` is the distribution of token t+1
        (the last one is unused).
        """
        b, t_len = tokens.shape
        state = self.init_state(b)
        _, state = self.step(None, state)
        states, logits = [], []
        for t in range(t_len):
            lg, state = self.step(tokens[:, t], state)
            states.append(state)
            logits.append(lg)
        return states, torch.stack(logits, dim=1)

    @torch.no_grad()
    def sample(
        self,
        num_samples: int,
        seq_len: int,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        decode: str = "sample",
    ) -> torch.Tensor:
        """Draw `[num_samples, seq_len]` token ids (`decode` = "sample" or "greedy"); `<pad>` after `<eos>`."""
        state = self.init_state(num_samples)
        logits, state = self.step(None, state)
        out = []
        for _ in range(seq_len):
            tok = greedy(logits) if decode == "greedy" else sample_next(logits, temperature, top_k, top_p)
            out.append(tok)
            logits, state = self.step(tok, state)
        return pad_after_eos(torch.stack(out, dim=1), self.eos_id, self.pad_id)

    # --------------------------------------------------------------- state rows (textgan.policy.Policy)
    @staticmethod
    def index_state(state: State, index: torch.Tensor) -> State:
        """Rows `index` of a state (batch is dim 1 of h and c)."""
        return state[0][:, index], state[1][:, index]
