"""`TextGANModule`: what every method shares, and nothing more.

- the vocabulary, stored in every checkpoint and checked when one is loaded;
- the phase schedule interface (`phase`, `total_epochs`) read by the progress bar and `train.py`;
- evaluation on Lightning's validation schedule (`trainer.check_val_every_n_epoch` = `eval_every`):
  NLL-test on held-out real data (when the generator has `log_probs`), then `num_eval_samples` samples scored by
  the sample metrics that the datamodule supports (NLL-oracle when it has an `oracle`; BLEU-n against its
  `test_references` and Self-BLEU-n, on the first `num_bleu_samples` / `num_self_bleu_samples` samples,
  with n from its `bleu_ns` / `self_bleu_ns`); the decoded samples are
  kept in `self.eval_samples` for the sample-logging callback;
- the MLE step (teacher forcing) that MLE training and every GAN's pre-training use.

Methods use manual optimization (`automatic_optimization = False`) so GAN methods can alternate G and D steps.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from textgan.data.vocab import Vocabulary
from textgan.losses import mle_loss
from textgan.masks import token_mask
from textgan.metrics.bleu import bleu_scores, self_bleu_scores
from textgan.metrics.nll import nll_oracle, perplexity
from textgan.ranges import NonNegativeFloat, PositiveInt, check_arguments


class TextGANModule(pl.LightningModule):
    """Base class. Subclasses set `self.generator` and implement `training_step` and `configure_optimizers`.

    Args:
        vocab: the data's vocabulary.
        seq_len: length of generated sequences (the data's maximum length, `<eos>` included).
        num_eval_samples: samples drawn at each evaluation (SeqGAN's benchmark: 10,000).
        grad_clip: max gradient norm for every optimizer step (0 disables).
    """

    phases: tuple[str, ...] = ("train",)
    # what the data module must provide (its `provides_data`), checked before any data is built (textgan.preflight)
    needs_data: str = "sequences"

    def __init__(self, vocab: Vocabulary, seq_len: int, num_eval_samples: PositiveInt = 10_000,
                 grad_clip: NonNegativeFloat = 5.0):
        check_arguments(TextGANModule, locals(), "method")
        super().__init__()
        self.automatic_optimization = False
        self.vocab = vocab
        self.seq_len = seq_len
        self.num_eval_samples = num_eval_samples
        self.grad_clip = grad_clip
        self.eval_samples: list[str] = []
        self.run_config: dict | None = None  # the resolved run config, set by train.py, saved in checkpoints
        self._nll_totals: torch.Tensor | None = None  # [NLL sum, token count] float64, on the device

    # ------------------------------------------------------------------ schedule
    def phase_epochs(self) -> tuple[int, ...]:
        """Epochs of each phase in `phases`, in order (one Lightning epoch = one unit of the method's schedule)."""
        raise NotImplementedError

    @property
    def total_epochs(self) -> int:
        """Epochs of the whole schedule (all phases); `train.py` uses it when `trainer.max_epochs` is unset."""
        return sum(self.phase_epochs())

    @property
    def phase(self) -> str:
        """Name of the current phase (shown by the progress bar): derived from `current_epoch`, so a resumed
        checkpoint continues in the phase it was saved in."""
        end = 0
        for name, epochs in zip(self.phases, self.phase_epochs()):
            end += epochs
            if self.current_epoch < end:
                return name
        return self.phases[-1]

    def phase_index(self) -> int:
        return self.phases.index(self.phase)

    # ------------------------------------------------------------------ shared training pieces
    def optimizer_step_with_clip(self, opt, loss: torch.Tensor, clip: float | None = None) -> None:
        """zero_grad -> backward -> clip to norm `clip` (default `grad_clip`; 0 = none) -> step."""
        clip = self.grad_clip if clip is None else clip
        opt.zero_grad()
        self.manual_backward(loss)
        if clip:
            self.clip_gradients(opt, gradient_clip_val=clip, gradient_clip_algorithm="norm")
        opt.step()

    def mle_step(self, tokens: torch.Tensor, opt) -> torch.Tensor:
        """One teacher-forced maximum-likelihood step of `self.generator` on real `tokens` `[batch, seq_len]`."""
        loss = mle_loss(self.generator(tokens), tokens, token_mask(tokens, self.vocab.pad_id))
        self.optimizer_step_with_clip(opt, loss)
        return loss.detach()

    def generate(self, num_samples: int, **kwargs) -> torch.Tensor:
        """`[num_samples, seq_len]` token ids from the generator (batched to bound memory)."""
        chunks, left = [], num_samples
        while left > 0:
            n = min(left, 2048)
            chunks.append(self.generator.sample(n, self.seq_len, **kwargs))
            left -= n
        return torch.cat(chunks)

    # ------------------------------------------------------------------ evaluation
    def _eval_step(self, batch) -> None:
        if hasattr(self.generator, "log_probs"):
            tokens = batch
            mask = token_mask(tokens, self.vocab.pad_id)
            self.add_nll(self.generator.log_probs(tokens), mask)

    def add_nll(self, logp: torch.Tensor, mask: torch.Tensor) -> None:
        """Add the NLL of `logp` `[batch, seq_len]` over `mask` (bool, same shape) to this evaluation's totals.

        The totals stay on the device (no host round trip per batch) in float64, the precision of the Python
        floats they replace; they are read once, at the end of the evaluation (`nll_totals`)."""
        total = torch.stack([-(logp * mask).sum().double(), mask.sum().double()])
        self._nll_totals = total if self._nll_totals is None else self._nll_totals + total

    def nll_totals(self) -> torch.Tensor | None:
        """This evaluation's `[NLL sum, token count]` (None when no token was scored), and reset them."""
        totals, self._nll_totals = self._nll_totals, None
        return totals if totals is not None and totals[1] > 0 else None

    def validation_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch)

    def test_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch)

    def _datamodule(self, datamodule=None):
        if datamodule is not None:
            return datamodule
        return self.trainer.datamodule if self._trainer is not None else None

    def sample_metrics(self, samples: torch.Tensor, datamodule=None) -> dict[str, float]:
        """Metrics of generated `samples` `[n, seq_len]` that the datamodule makes possible: NLL-oracle (an
        `oracle`), BLEU / Self-BLEU (`test_references`), and whatever its own `sample_metrics(samples)` returns
        (e.g. grammar validity, uniqueness and novelty on `data=cfg`). `datamodule`: the trainer's when None
        (`textgan.evaluate` passes one, outside any trainer)."""
        metrics = {}
        dm = self._datamodule(datamodule)
        oracle = getattr(dm, "oracle", None)
        if oracle is not None:
            oracle.to(samples.device)
            metrics["nll_oracle"] = nll_oracle(oracle, samples)
        metrics.update(self.bleu_metrics(samples, dm))
        data_metrics = getattr(dm, "sample_metrics", None)
        if callable(data_metrics):
            metrics.update(data_metrics(samples))
        return metrics

    def bleu_metrics(self, samples: torch.Tensor, datamodule=None) -> dict[str, float]:
        """`bleu<n>` (against the datamodule's `test_references`) and `self_bleu<n>` of decoded `samples`
        (`textgan.metrics.bleu`); empty when the datamodule has no `test_references`."""
        dm = self._datamodule(datamodule)
        references = getattr(dm, "test_references", None)
        if not references:
            return {}
        metrics = {}
        n_bleu = getattr(dm, "num_bleu_samples", 1000)
        n_self = getattr(dm, "num_self_bleu_samples", 1000)
        hyps = [self.vocab.decode(s) for s in samples[: max(n_bleu, n_self)].tolist()]
        if getattr(dm, "bleu_ns", None) and n_bleu:
            scores = bleu_scores(hyps[:n_bleu], references, dm.bleu_ns)
            metrics.update({f"bleu{n}": v for n, v in scores.items()})
        if getattr(dm, "self_bleu_ns", None) and min(n_self, len(hyps)) >= 2:
            scores = self_bleu_scores(hyps[:n_self], dm.self_bleu_ns)
            metrics.update({f"self_bleu{n}": v for n, v in scores.items()})
        return metrics

    def _eval_epoch_end(self, prefix: str) -> None:
        metrics = {}
        totals = self.nll_totals()
        if totals is not None:
            total = self.all_gather(totals.float()).reshape(-1, 2).sum(0)
            metrics["nll_test"] = (total[0] / total[1]).item()
            metrics["perplexity"] = perplexity(metrics["nll_test"])
        if self.trainer.sanity_checking:
            return
        # data-parallel: each rank draws its share (ranks are seeded apart); the metrics are averaged by sync_dist
        samples = self.generate(-(-self.num_eval_samples // self.trainer.world_size))
        metrics.update(self.sample_metrics(samples))
        self.eval_samples = [self.vocab.to_text(s) for s in samples[:100].tolist()]
        for name, value in metrics.items():
            self.log(f"{prefix}/{name}", value, sync_dist=True,
                     prog_bar=name in ("nll_oracle", "nll_test", "bleu2"))
        self.log(f"{prefix}/epoch", float(self.current_epoch), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["vocab"] = self.vocab.state_dict()
        checkpoint["phase"] = self.phase
        if self.run_config is not None:
            checkpoint["config"] = self.run_config

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "vocab" in checkpoint:
            self.vocab.check_same(Vocabulary.from_state_dict(checkpoint["vocab"]))
