"""Evaluation metrics: BLEU / Self-BLEU (`bleu.py`) and likelihood metrics (`nll.py`)."""

from textgan.metrics.bleu import bleu, bleu_scores, self_bleu, self_bleu_scores
from textgan.metrics.nll import nll_oracle, perplexity, sequence_nll

__all__ = ["bleu", "bleu_scores", "self_bleu", "self_bleu_scores", "nll_oracle", "perplexity", "sequence_nll"]
