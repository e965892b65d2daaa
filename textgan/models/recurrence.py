"""`float32_recurrence`: an `nn.LSTM` / `nn.GRU` run in float32 when autocast is on.

Under CPU autocast, torch sends a float32 LSTM input to oneDNN and only then casts it to bfloat16; oneDNN's
bfloat16 LSTM needs AVX-512 and refuses to build on other CPUs ("could not create a primitive descriptor for the
LSTM forward propagation primitive"). Running the recurrence in float32 works on every CPU and GPU and costs
little: the recurrence is the cheap part of these models, while the projections around it (attention, output
vocabulary) still run in the autocast dtype. Without autocast the call is unchanged.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.rnn import PackedSequence

RNNState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def float32_recurrence(rnn: nn.RNNBase, inputs: torch.Tensor | PackedSequence, state: RNNState | None = None
                       ) -> tuple[torch.Tensor | PackedSequence, RNNState]:
    """`rnn(inputs, state)`; under autocast with inputs and state cast to float32 and autocast off, so the
    outputs and the new state are float32 (`[batch, len, hidden]` / `[num_layers, batch, hidden]` for a
    `batch_first` RNN). `state`: `(h, c)` for an LSTM, `h` for a GRU, None for zeros."""
    device = (inputs.data if isinstance(inputs, PackedSequence) else inputs).device.type
    if not torch.is_autocast_enabled(device):
        return rnn(inputs, state)
    if isinstance(state, tuple):
        state = tuple(s.float() for s in state)
    elif state is not None:
        state = state.float()
    with torch.autocast(device, enabled=False):
        return rnn(inputs.float(), state)
