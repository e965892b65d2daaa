"""`Seq2Seq`: an RNN encoder-decoder with attention, the response generator of neural dialogue models.

Encoder: embedding -> LSTM or GRU over the context `[batch, src_len]` (right-padded; packed so padding never
enters the recurrence) -> memory `[batch, src_len, hidden]` and a final state that starts the decoder.
Decoder: an LSTM over the response, started from `<bos>`, with one of two attentions over the memory:

- `luong` (Luong et al. 2015, "general" score, no input feeding):
      h_t = LSTM(emb(y_{t-1}), s_{t-1});  a_t = softmax_s(h_t^T W_a m_s);  c_t = sum_s a_ts m_s;
      o_t = tanh(W_c [h_t; c_t]);  p(y_t | y_<t, x) = softmax(W_o o_t)
  Teacher forcing runs the LSTM over the whole response in one call (fast on CPU).
- `bahdanau` (Bahdanau et al. 2015, additive score, the context is an input of the recurrence):
      a_t = softmax_s(v^T tanh(W_q h_{t-1} + W_k m_s));  c_t = sum_s a_ts m_s;
      h_t = LSTM([emb(y_{t-1}); c_t], s_{t-1});  o_t = tanh(W_c [h_t; c_t]);  p(y_t | .) = softmax(W_o o_t)

Padding masks: attention scores at `<pad>` context positions are -inf, so the weights sum to 1 over the real
tokens. Responses follow the data convention (tokens, `<eos>`, `<pad>`).

Under autocast (`trainer.precision=bf16-mixed`) the encoder and decoder recurrences run in float32
(`textgan.models.recurrence`), the attention and the output projections in the autocast dtype.

`Seq2Seq.bind(context)` returns a `ContextPolicy`: the decoder conditioned on one batch of contexts, a
`textgan.policy.BoundPolicy` that `textgan.rollout.mc_rewards` and `textgan.decoding` step through (responses:
`textgan.decoding.decode(model.bind(context), max_len, "greedy")`). Its decoder state carries, beside the LSTM
state, the row of the bound context each state belongs to, so selecting rows of states keeps them aligned with
the memory.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textgan.models.recurrence import float32_recurrence

ATTENTIONS = ("luong", "bahdanau")
ENCODER_RNNS = ("lstm", "gru")


class DecoderState(NamedTuple):
    """Decoder state of `n` rows: LSTM `h`, `c` `[num_layers, n, hidden]`; `rows` `[n]` long: the bound
    context (memory row) of each state row."""

    h: torch.Tensor
    c: torch.Tensor
    rows: torch.Tensor


class Memory(NamedTuple):
    """Encoder output for `batch` contexts: `states` `[batch, src_len, hidden]`, `mask` `[batch, src_len]`
    bool (True on real tokens), `keys` = the states projected for the attention score, `final` the encoder's
    last state `(h, c)` `[num_layers, batch, hidden]`."""

    states: torch.Tensor
    mask: torch.Tensor
    keys: torch.Tensor
    final: tuple[torch.Tensor, torch.Tensor]


class Seq2Seq(nn.Module):
    """Encoder-decoder with attention over `vocab_size` tokens (one vocabulary for context and response).

    Args:
        vocab_size: vocabulary size (shared embedding of encoder and decoder inputs).
        embed_dim, hidden_dim, num_layers: sizes of the embedding and of both RNNs.
        attention: "luong" or "bahdanau" (see the module docstring).
        encoder_rnn: "lstm" or "gru" (a GRU encoder starts the decoder's cell state at zero).
        dropout: on embeddings and on the attentional output (training only).
        pad_id, eos_id, bos_id: from the vocabulary; `<bos>` starts the decoder, sampling writes `<pad>` after
            the first `<eos>`.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 64,
        hidden_dim: int = 128,
        num_layers: int = 1,
        attention: str = "luong",
        encoder_rnn: str = "lstm",
        dropout: float = 0.0,
        pad_id: int | None = None,
        eos_id: int | None = None,
        bos_id: int | None = None,
    ):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"method.generator.attention must be one of {ATTENTIONS}, got {attention!r}")
        if encoder_rnn not in ENCODER_RNNS:
            raise ValueError(f"method.generator.encoder_rnn must be one of {ENCODER_RNNS}, "
                             f"got {encoder_rnn!r}")
        if None in (pad_id, eos_id, bos_id):
            raise ValueError("Seq2Seq needs a vocabulary with <pad>, <bos> and <eos> (got pad_id="
                             f"{pad_id}, eos_id={eos_id}, bos_id={bos_id}); use a dialogue datamodule's "
                             "vocabulary")
        self.vocab_size, self.pad_id, self.eos_id, self.bos_id = vocab_size, pad_id, eos_id, bos_id
        self.attention, self.hidden_dim = attention, hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        rnn = nn.LSTM if encoder_rnn == "lstm" else nn.GRU
        self.encoder = rnn(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        dec_in = embed_dim + (hidden_dim if attention == "bahdanau" else 0)
        self.decoder = nn.LSTM(dec_in, hidden_dim, num_layers=num_layers, batch_first=True)
        if attention == "luong":
            self.key = nn.Linear(hidden_dim, hidden_dim, bias=False)  # W_a
        else:
            self.key = nn.Linear(hidden_dim, hidden_dim, bias=False)  # W_k
            self.query = nn.Linear(hidden_dim, hidden_dim, bias=True)  # W_q
            self.score = nn.Linear(hidden_dim, 1, bias=False)  # v
        self.combine = nn.Linear(2 * hidden_dim, hidden_dim)  # W_c
        self.output = nn.Linear(hidden_dim, vocab_size)  # W_o
        self.dropout = nn.Dropout(dropout)

    # --------------------------------------------------------------- encoder
    def encode(self, context: torch.Tensor) -> Memory:
        """Encode `context` `[batch, src_len]` (right-padded). A context of only padding attends to position
        0."""
        if context.dim() != 2:
            raise ValueError(f"context must be [batch, src_len] token ids, got shape {tuple(context.shape)}")
        mask = context != self.pad_id
        mask[:, 0] = True  # an empty context still has one position to attend to (its first, a <pad>)
        lengths = mask.sum(dim=1)
        packed = pack_padded_sequence(self.dropout(self.embedding(context)), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, final = float32_recurrence(self.encoder, packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=context.shape[1])
        if isinstance(final, torch.Tensor):  # GRU: no cell state
            final = (final, torch.zeros_like(final))
        return Memory(states, mask, self.key(states), final)

    def attend(self, query: torch.Tensor, memory: Memory, rows: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention of `query` `[n, q_len, hidden]` over the memory rows `rows` (`[n]`, default all).

        Returns the context vectors `[n, q_len, hidden]` and the weights `[n, q_len, src_len]` (zero at
        padding, summing to 1 over the real context tokens).
        """
        keys, states, mask = memory.keys, memory.states, memory.mask
        if rows is not None:
            keys, states, mask = keys[rows], states[rows], mask[rows]
        if self.attention == "luong":
            scores = torch.bmm(query, keys.transpose(1, 2))  # h_t^T W_a m_s
        else:
            scores = self.score(torch.tanh(self.query(query).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)
        scores = scores.float().masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1).to(states.dtype)
        return torch.bmm(weights, states), weights

    def _logits(self, h: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(torch.tanh(self.combine(torch.cat([h, ctx], dim=-1)))))

    # --------------------------------------------------------------- teacher forcing
    def forward(self, context: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits `[batch, tgt_len, vocab]`: position t is the distribution of `response[:, t]`
        given the context and `response[:, :t]` (the decoder reads `<bos>, y_0, ..., y_{T-2}`)."""
        memory = self.encode(context)
        b = response.shape[0]
        bos = torch.full((b, 1), self.bos_id, dtype=response.dtype, device=response.device)
        inputs = self.dropout(self.embedding(torch.cat([bos, response[:, :-1]], dim=1)))
        if self.attention == "luong":
            h, _ = float32_recurrence(self.decoder, inputs, memory.final)
            ctx, _ = self.attend(h, memory)
            return self._logits(h, ctx)
        state = DecoderState(*memory.final, torch.arange(b, device=response.device))
        logits = []
        for t in range(response.shape[1]):
            lg, state = self.decoder_step(inputs[:, t], state, memory)
            logits.append(lg)
        return torch.stack(logits, dim=1)

    def log_probs(self, context: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
        """`log G(y_t | y_<t, x)` for every position: `[batch, tgt_len]` float32 (padding not masked)."""
        logp = F.log_softmax(self(context, response).float(), dim=-1)
        return logp.gather(-1, response.unsqueeze(-1)).squeeze(-1)

    # --------------------------------------------------------------- one step
    def decoder_step(self, x: torch.Tensor, state: DecoderState, memory: Memory
                     ) -> tuple[torch.Tensor, DecoderState]:
        """Consume input vectors `x` `[n, embed]` -> next-token logits `[n, vocab]` and the new state."""
        if self.attention == "bahdanau":
            ctx, _ = self.attend(state.h[-1].unsqueeze(1), memory, state.rows)  # query: h_{t-1}
            inputs = torch.cat([x, ctx.squeeze(1)], dim=-1).unsqueeze(1)
            out, (h, c) = float32_recurrence(self.decoder, inputs, (state.h, state.c))
        else:
            out, (h, c) = float32_recurrence(self.decoder, x.unsqueeze(1), (state.h, state.c))
            ctx, _ = self.attend(out, memory, state.rows)
        return self._logits(out.squeeze(1), ctx.squeeze(1)), DecoderState(h, c, state.rows)

    def bind(self, context: torch.Tensor) -> ContextPolicy:
        """The decoder conditioned on `context` `[batch, src_len]` (encoded once)."""
        return ContextPolicy(self, context)


class ContextPolicy:
    """`Seq2Seq`'s decoder bound to a batch of contexts: the autoregressive policy `G(y | x)` for one batch.

    A `textgan.policy.BoundPolicy`. States are `DecoderState`s whose `rows` index the bound contexts, so the
    rollout (`textgan.rollout`) and the decoders (`textgan.decoding`) can select rows freely.
    """

    def __init__(self, model: Seq2Seq, context: torch.Tensor):
        self.model = model
        self.memory = model.encode(context)
        self.batch_size = context.shape[0]
        self.device = context.device
        self.eos_id, self.pad_id, self.bos_id = model.eos_id, model.pad_id, model.bos_id

    def initial_state(self) -> DecoderState:
        """The decoder state before `<bos>`, one row per bound context."""
        h, c = self.memory.final
        return DecoderState(h, c, torch.arange(self.batch_size, device=self.device))

    def step(self, tokens: torch.Tensor | None, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """Consume one token per row (`[n]` long; None = `<bos>`) -> next-token logits `[n, vocab]`, new
        state."""
        if tokens is None:
            tokens = torch.full_like(state.rows, self.bos_id)
        return self.model.decoder_step(self.model.embedding(tokens), state, self.memory)

    def start(self) -> tuple[torch.Tensor, DecoderState]:
        """Logits of the first response token `[batch, vocab]` and the state after `<bos>`."""
        return self.step(None, self.initial_state())

    def prefix_states(self, tokens: torch.Tensor) -> tuple[list[DecoderState], torch.Tensor]:
        """For a response batch `tokens` `[batch, tgt_len]` of the bound contexts: `states[t]` is the state
        after consuming `tokens[:, :t+1]`, `next_logits[:, t]` `[batch, tgt_len, vocab]` the distribution of
        token t+1."""
        _, state = self.start()
        states, logits = [], []
        for t in range(tokens.shape[1]):
            lg, state = self.step(tokens[:, t], state)
            states.append(state)
            logits.append(lg)
        return states, torch.stack(logits, dim=1)

    @staticmethod
    def index_state(state: DecoderState, index: torch.Tensor) -> DecoderState:
        """Rows `index` of a state (their context rows follow)."""
        return DecoderState(state.h[:, index], state.c[:, index], state.rows[index])
