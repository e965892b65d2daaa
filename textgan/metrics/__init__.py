"""Evaluation metrics: the arithmetic as pure functions, one module per measure (BLEU / Self-BLEU `bleu.py`,
likelihoods `nll.py`, ...); `objects.py` wraps them as `torchmetrics.Metric` objects, `build.py` builds those from
the `metrics:` config."""

from textgan.metrics.bleu import bleu, bleu_scores, self_bleu, self_bleu_scores
from textgan.metrics.nll import nll_oracle, perplexity, sequence_nll

__all__ = ["bleu", "bleu_scores", "self_bleu", "self_bleu_scores", "nll_oracle", "perplexity", "sequence_nll"]
