"""Conditional (dialogue) generation: what every response generator shares, and the MLE baseline.

- `DialogueMethod`: a `TextGANModule` whose generator maps a context to a response (`textgan.models.seq2seq`).
  Batches are `(context [B, context_len], response [B, seq_len])`. Evaluation (Lightning's validation
  schedule) computes NLL-test of the human responses (teacher forcing, padding excluded, `<eos>` included)
  over the whole evaluation split, and decodes responses (`eval_decode`: greedy | beam | sample) for the first
  `num_eval_samples` contexts, scored by BLEU-2/4 against each context's human response (`response_bleu`),
  distinct-1/2 and the average length (`textgan.metrics`). `self.eval_samples` holds "context | human |
  generated" lines for the sample logger.
- `Seq2SeqMLE` (`method=seq2seq`): teacher-forced maximum likelihood (Sutskever et al. 2014; Vinyals & Le
2015),
  the MLE baseline of Li et al. (2017) and the pre-training of `method=dialogue_seqgan`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from textgan.data.vocab import Vocabulary
from textgan.decoding import DECODERS, Decoder, decode
from textgan.errors import ConfigError
from textgan.losses import mle_loss
from textgan.methods.base import TextGANModule
from textgan.metrics.diversity import average_length, distinct_n
from textgan.metrics.nll import perplexity
from textgan.metrics.response_bleu import response_bleu
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Probability, check_arguments


class DialogueMethod(TextGANModule):
    """Base of the context -> response methods: the conditional MLE step, decoding and dialogue evaluation.

    Args:
        vocab, seq_len, num_eval_samples, grad_clip: as in `TextGANModule` (`seq_len`: the longest response,
            `<eos>` included; `num_eval_samples`: contexts decoded at each evaluation).
        eval_decode: how evaluation decodes: greedy | beam | sample.
        beam_size, length_penalty: beam search settings (`textgan.decoding.beam_search`).
        temperature, top_k, top_p: sampling settings.
    """

    needs_data = "pairs"  # (context, response) batches of a data module whose `provides_data` is "pairs"

    def __init__(self, vocab: Vocabulary, seq_len: int, num_eval_samples: PositiveInt = 1000,
                 grad_clip: NonNegativeFloat = 5.0,
                 eval_decode: Decoder = "greedy", beam_size: PositiveInt = 5, length_penalty: float = 0.0,
                 temperature: PositiveFloat = 1.0, top_k: NonNegativeInt = 0, top_p: Probability = 1.0):
        check_arguments(DialogueMethod, locals(), "method")
        super().__init__(vocab, seq_len, num_eval_samples, grad_clip)
        if eval_decode not in DECODERS:
            raise ConfigError(f"method.eval_decode must be one of {DECODERS}, got {eval_decode!r}")
        self.eval_decode, self.beam_size, self.length_penalty = eval_decode, beam_size, length_penalty
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p
        self._eval_pairs: list[tuple[list[str], list[str], list[str]]] = []

    def build_generator(self, generator: Callable[..., torch.nn.Module]) -> torch.nn.Module:
        """Complete the `_partial_` model config with the vocabulary's size and special ids."""
        v = self.vocab
        return generator(vocab_size=len(v), pad_id=v.pad_id, eos_id=v.eos_id, bos_id=v.bos_id)

    # ------------------------------------------------------------------ shared training pieces
    @staticmethod
    def unpack(batch) -> tuple[torch.Tensor, torch.Tensor]:
        """`(context, response)` from a dialogue batch, or a clear error for unconditional data."""
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError("dialogue methods need (context, response) batches: use data=dialogue "
                            "(textgan.data.dialogue.DialogueDataModule), not an unconditional corpus")
        return batch[0], batch[1]

    def mle_step(self, batch, opt) -> torch.Tensor:
        """One teacher-forced maximum-likelihood step on `(context, response)` (per-token mean
        cross-entropy)."""
        context, response = self.unpack(batch)
        loss = mle_loss(self.generator(context, response), response, response != self.vocab.pad_id)
        self.optimizer_step_with_clip(opt, loss)
        return loss.detach()

    @torch.no_grad()
    def respond(self, context: torch.Tensor, method: str | None = None, **kwargs) -> torch.Tensor:
        """Responses `[batch, seq_len]` to `context` `[batch, context_len]`, decoded by `method` (default
        `eval_decode`) with this method's beam / sampling settings unless overridden in `kwargs`."""
        settings = dict(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                        beam_size=self.beam_size, length_penalty=self.length_penalty)
        settings.update(kwargs)
        max_len = settings.pop("max_len", self.seq_len)
        return decode(self.generator.bind(context), max_len, method or self.eval_decode, **settings)

    def generate(self, num_samples: int, **kwargs) -> torch.Tensor:
        raise NotImplementedError("a dialogue generator answers contexts: use respond(context) "
                                  "(or textgan.chat)")

    # ------------------------------------------------------------------ evaluation
    def _eval_step(self, batch) -> None:
        context, response = self.unpack(batch)
        mask = response != self.vocab.pad_id
        self.add_nll(self.generator.log_probs(context, response), mask)
        if self.trainer.sanity_checking:
            return
        left = self.num_eval_samples - len(self._eval_pairs)
        if left > 0:
            context, response = context[:left], response[:left]
            generated = self.respond(context)
            decode_ids = self.vocab.decode
            for c, h, g in zip(context.tolist(), response.tolist(), generated.tolist()):
                self._eval_pairs.append((decode_ids(c), decode_ids(h), decode_ids(g)))

    def dialogue_metrics(self, pairs: list[tuple[list[str], list[str], list[str]]]) -> dict[str, float]:
        """BLEU-2/4 (generated vs human), distinct-1/2 and average length of the generated responses."""
        generated = [g for _, _, g in pairs]
        references = [[h] for _, h, _ in pairs]
        return {
            "bleu2": response_bleu(generated, references, 2),
            "bleu4": response_bleu(generated, references, 4),
            "distinct_1": distinct_n(generated, 1),
            "distinct_2": distinct_n(generated, 2),
            "avg_len": average_length(generated),
        }

    def _eval_epoch_end(self, prefix: str) -> None:
        metrics = {}
        totals = self.nll_totals()
        if totals is not None:
            metrics["nll_test"] = (totals[0] / totals[1]).item()
            metrics["perplexity"] = perplexity(metrics["nll_test"])
        pairs, self._eval_pairs = self._eval_pairs, []
        if self.trainer.sanity_checking:
            return
        if pairs:
            metrics.update(self.dialogue_metrics(pairs))
            sep = self.vocab.separator
            self.eval_samples = [f"context: {sep.join(c)} | human: {sep.join(h)} | generated: {sep.join(g)}"
                                 for c, h, g in pairs[:100]]
        for name, value in metrics.items():
            self.log(f"{prefix}/{name}", value, sync_dist=True, prog_bar=name in ("nll_test", "bleu2"))
        self.log(f"{prefix}/epoch", float(self.current_epoch), sync_dist=True)


class Seq2SeqMLE(DialogueMethod):
    """Train the seq2seq `generator` by teacher-forced cross-entropy for `epochs` epochs (Adam, `lr`)."""

    phases = ("mle",)

    def __init__(
        self,
        vocab: Vocabulary,
        generator: Callable[..., torch.nn.Module],
        seq_len: int,
        epochs: NonNegativeInt = 10,
        lr: NonNegativeFloat = 1e-3,
        grad_clip: NonNegativeFloat = 5.0,
        num_eval_samples: PositiveInt = 1000,
        eval_decode: Decoder = "greedy",
        beam_size: PositiveInt = 5,
        length_penalty: float = 0.0,
        temperature: PositiveFloat = 1.0,
        top_k: NonNegativeInt = 0,
        top_p: Probability = 1.0,
    ):
        check_arguments(Seq2SeqMLE, locals(), "method")
        super().__init__(vocab, seq_len, num_eval_samples, grad_clip, eval_decode, beam_size, length_penalty,
                         temperature, top_k, top_p)
        self.save_hyperparameters(ignore=["vocab", "generator"])
        self.generator = self.build_generator(generator)
        self.epochs, self.lr = epochs, lr

    def phase_epochs(self) -> tuple[int, ...]:
        return (self.epochs,)

    def configure_optimizers(self):
        return torch.optim.Adam(self.generator.parameters(), lr=self.lr)

    def training_step(self, batch, batch_idx: int) -> None:
        self.log("train/g_mle_loss", self.mle_step(batch, self.optimizers()), prog_bar=True)
