"""`HierarchicalDiscriminator`: is a response to a context human or machine-generated? (Li et al. 2017, sec.
3.1)

"A hierarchical recurrent encoder-decoder" reads the dialogue `{x, y}`: an utterance-level LSTM turns the
context and the response each into a vector (its last hidden state over the real tokens), a dialogue-level
LSTM reads the two vectors in order, and a linear layer on its last state gives 2 logits (index 1 = human),
i.e. `Q_+({x, y})`, the probability that the response is human.
Under autocast both LSTMs run in float32 (`textgan.models.recurrence`).

Also used, freshly initialised and separately trained, as the AdverSuc evaluator (`textgan.metrics.adversuc`).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

from textgan.models.recurrence import float32_recurrence


class HierarchicalDiscriminator(nn.Module):
    """Classifies `(context [batch, src_len], response [batch, tgt_len])` pairs as human (1) or generated (0).

    Args:
        vocab_size: vocabulary size.
        embed_dim, hidden_dim: sizes of the embedding, the utterance LSTM and the dialogue LSTM.
        dropout: before the output layer.
        pad_id: padding id (excluded from the utterance encoder by packing).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_dim: int = 128, dropout: float = 0.2,
                 pad_id: int | None = None):
        super().__init__()
        if pad_id is None:
            raise ValueError("HierarchicalDiscriminator needs a vocabulary with <pad> (variable-length "
                             "utterances)")
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.utterance = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.dialogue = nn.LSTM(hidden_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_dim, 2)

    def encode_utterance(self, tokens: torch.Tensor) -> torch.Tensor:
        """Last hidden state over the real tokens of each row of `tokens` `[batch, len]` -> `[batch, hidden]`
        (an all-padding row reads one `<pad>`)."""
        lengths = (tokens != self.pad_id).sum(dim=1).clamp_min(1)
        packed = pack_padded_sequence(self.embedding(tokens), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, (h, _) = float32_recurrence(self.utterance, packed)
        return h[-1]

    def forward(self, context: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
        """Logits `[batch, 2]` (index 1 = human)."""
        if context.shape[0] != response.shape[0]:
            raise ValueError(f"context and response batches differ: {context.shape[0]} vs "
                             f"{response.shape[0]}")
        turns = torch.stack([self.encode_utterance(context), self.encode_utterance(response)], dim=1)
        _, (h, _) = float32_recurrence(self.dialogue, turns)
        return self.output(self.dropout(h[-1]))

    def prob_human(self, context: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
        """`Q_+({x, y})`: probability that each response is human, `[batch]` float32 (the generator's
        reward)."""
        return torch.softmax(self(context, response).float(), dim=-1)[:, 1]
