"""Adversarial success (AdverSuc, Li et al. 2017, sec. 4 "Adversarial Evaluation").

An evaluator, separate from any training discriminator, is trained to tell human responses from machine (MLE)
responses to held-out contexts; AdverSuc of a generator is the fraction of its responses that the evaluator
classifies as human (P(human) > 0.5). Higher means harder to tell from people. The evaluator is a freshly
initialised `HierarchicalDiscriminator` (the paper's evaluator has the discriminator's architecture).

- `train_evaluator(...)`: fit it on `(contexts, human, machine)` (all `[n, len]` token ids); a `holdout`
fraction
  of the pairs is kept out of training and scored, so the caller can report the evaluator's own accuracy.
- `adversarial_success(evaluator, contexts, responses)`: the AdverSuc of some responses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from textgan.losses import discriminator_loss
from textgan.models.hierarchical import HierarchicalDiscriminator


@dataclass
class EvaluatorReport:
    """`accuracy` on the held-out pairs (human and machine together); `human_recall`: held-out human responses
    classified human; `machine_recall`: held-out machine responses classified machine."""

    accuracy: float
    human_recall: float
    machine_recall: float
    num_train: int
    num_holdout: int


@torch.no_grad()
def prob_human(evaluator: torch.nn.Module, contexts: torch.Tensor, responses: torch.Tensor,
               batch_size: int = 512) -> torch.Tensor:
    """The evaluator's P(human) for each pair, `[n]` float32 (eval mode, batched)."""
    was_training = evaluator.training
    evaluator.eval()
    out = torch.cat([evaluator.prob_human(c, r) for c, r in zip(contexts.split(batch_size),
                                                                 responses.split(batch_size))])
    evaluator.train(was_training)
    return out


def adversarial_success(evaluator: torch.nn.Module, contexts: torch.Tensor, responses: torch.Tensor,
                        batch_size: int = 512) -> float:
    """AdverSuc: the fraction of `responses` `[n, len]` to `contexts` `[n, len]` that `evaluator` calls
    human."""
    if len(contexts) != len(responses) or len(responses) == 0:
        raise ValueError(f"need as many contexts as responses (> 0), got {len(contexts)} and "
                         f"{len(responses)}")
    return (prob_human(evaluator, contexts, responses, batch_size) > 0.5).float().mean().item()


def train_evaluator(
    vocab_size: int,
    pad_id: int,
    contexts: torch.Tensor,
    human: torch.Tensor,
    machine: torch.Tensor,
    epochs: int = 3,
    batch_size: int = 64,
    lr: float = 1e-3,
    embed_dim: int = 64,
    hidden_dim: int = 128,
    holdout: float = 0.1,
    seed: int = 0,
) -> tuple[HierarchicalDiscriminator, EvaluatorReport]:
    """Train a fresh evaluator on human (label 1) vs machine (label 0) responses to the same `contexts`.

    `contexts` `[n, src_len]`, `human` and `machine` `[n, tgt_len]` (row i answers context i). The last
    `holdout` fraction of the (shuffled) pairs is not trained on and gives the report.
    """
    if not (len(contexts) == len(human) == len(machine)):
        raise ValueError("contexts, human and machine must have as many rows: "
                         f"{len(contexts)}, {len(human)}, {len(machine)}")
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(contexts), generator=gen)
    n_hold = int(round(holdout * len(order)))
    train_idx, hold_idx = order[: len(order) - n_hold], order[len(order) - n_hold:]
    if len(train_idx) == 0:
        raise ValueError("no pairs left to train the AdverSuc evaluator; give more pairs or a smaller "
                         "holdout")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        evaluator = HierarchicalDiscriminator(vocab_size, embed_dim, hidden_dim, pad_id=pad_id)
    evaluator.to(contexts.device)  # initialised on the CPU (the same weights on every device), trained by the data
    opt = torch.optim.Adam(evaluator.parameters(), lr=lr)
    evaluator.train()
    for _ in range(epochs):
        for idx in train_idx[torch.randperm(len(train_idx), generator=gen)].split(batch_size):
            c = contexts[idx]
            loss = discriminator_loss(evaluator(c, human[idx]), evaluator(c, machine[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    evaluator.eval()
    if n_hold:
        p_h = prob_human(evaluator, contexts[hold_idx], human[hold_idx])
        p_m = prob_human(evaluator, contexts[hold_idx], machine[hold_idx])
        h_rec, m_rec = (p_h > 0.5).float().mean().item(), (p_m <= 0.5).float().mean().item()
        report = EvaluatorReport((h_rec + m_rec) / 2, h_rec, m_rec, len(train_idx), n_hold)
    else:
        report = EvaluatorReport(float("nan"), float("nan"), float("nan"), len(train_idx), 0)
    return evaluator, report
