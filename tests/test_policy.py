"""`textgan.policy`: the generators that rollouts and decoding step through declare one interface."""

import torch

from textgan.models.lstm import LSTMGenerator
from textgan.models.seq2seq import Seq2Seq
from textgan.policy import BoundPolicy, Policy


def test_the_generators_are_policies_and_a_bound_seq2seq_also_starts():
    lstm = LSTMGenerator(7, 4, 4, pad_id=0, eos_id=1)
    bound = Seq2Seq(9, 4, 4, pad_id=0, bos_id=1, eos_id=2).bind(torch.tensor([[3, 4, 2], [5, 2, 0]]))
    assert isinstance(lstm, Policy) and isinstance(bound, Policy)
    assert isinstance(bound, BoundPolicy)


def test_an_object_without_index_state_is_not_a_policy():
    class Stepper:
        eos_id = pad_id = None

        def step(self, tokens, state):
            return tokens, state

        def prefix_states(self, tokens):
            return [], tokens

    assert not isinstance(Stepper(), Policy)
