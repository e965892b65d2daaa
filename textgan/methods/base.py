"""`TextGANModule`: what every method shares, and nothing more.

- the vocabulary, stored in every checkpoint and checked when one is loaded;
- the phase schedule interface (`phase`, `total_epochs`) read by the progress bar and `train.py`;
- evaluation on Lightning's validation schedule (`trainer.check_val_every_n_epoch` = `eval_every`) by the
  metric objects of the run's `metrics:` config (`set_metrics`; `textgan.metrics.objects`): the "heldout" ones
  (NLL-test) read the generator's log-likelihood of the held-out batches (when the generator has `log_probs`),
  then `num_eval_samples` samples go to the "samples" ones (NLL-oracle, BLEU-n, Self-BLEU-n, n-gram JS, grammar
  validity: whatever the config lists); every metric accumulates and reduces across DDP ranks the
  torchmetrics way, and set-level ones score all ranks' samples at once. The decoded samples are kept in
  `self.eval_samples` for the sample-logging callback;
- the constructor's bookkeeping, written once: a method's `__init__` passes its `locals()` up, and this class
  checks them, saves them as `hparams` and keeps the optimiser factories;
- the MLE step (teacher forcing) that MLE training, every GAN's pre-training and the dialogue methods use.

Methods use manual optimization (`automatic_optimization = False`) so GAN methods can alternate G and D steps.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import pytorch_lightning as pl
import torch
from torchmetrics import Metric

from textgan.data.vocab import Vocabulary
from textgan.losses import mle_loss
from textgan.masks import token_mask
from textgan.optim import check_optimizers, is_optimizer_parameter, plain
from textgan.ranges import check_arguments, type_hints

# a network's `_partial_` config (`conf/model/*.yaml`): the method calls it with what the data fixes (`vocab_size`,
# `pad_id`, `eos_id`, `seq_len`) and gets the `nn.Module`, as `textgan.optim.OptimizerFactory` gets an optimiser
ModelFactory = Callable[..., torch.nn.Module]


class TextGANModule(pl.LightningModule):
    """Base class. Subclasses set `self.generator` and implement `training_step` and `configure_optimizers`.

    A method's constructor takes at least these settings, and calls `super().__init__(locals())` first:
        vocab: the data's vocabulary.
        seq_len: length of generated sequences (the data's maximum length, `<eos>` included).
        num_eval_samples: samples drawn at each evaluation (SeqGAN's benchmark: 10,000).
        grad_clip: max gradient norm for every optimizer step (0 disables; a method without it never clips).
    """

    phases: tuple[str, ...] = ("train",)
    # what the data module must provide (its `provides_data`), checked before any data is built (textgan.config.checks)
    needs_data: str = "sequences"

    def __init__(self, arguments: Mapping[str, Any]):
        """`arguments`: the method constructor's `locals()`. Its values are checked against the ranges of its
        signature and the optimisers' settings (`check_arguments`, `check_optimizers`: one line per mistake); its
        settings are saved as `hparams` (Lightning's `save_hyperparameters`, in checkpoints), all but the
        vocabulary and the factories of the networks and optimisers; each optimiser factory (`optimizer`,
        `<role>_optimizer`) is kept as the attribute of its name, with plain settings (`textgan.optim.plain`)."""
        arguments = {k: v for k, v in arguments.items() if k not in ("self", "__class__")}
        check_arguments(type(self), arguments, "method")
        check_optimizers(arguments)
        super().__init__()
        self.automatic_optimization = False
        self.vocab: Vocabulary = arguments["vocab"]
        self.seq_len: int = arguments["seq_len"]
        self.num_eval_samples: int = arguments["num_eval_samples"]
        self.grad_clip: float = arguments.get("grad_clip", 0.0)
        hints = type_hints(type(self))
        factories = [name for name in arguments if hints.get(name) == ModelFactory or is_optimizer_parameter(name)]
        # the constructor's frame is read for the values (`collect_init_args`); logger=False: train.py logs the
        # whole run config once
        self.save_hyperparameters(ignore=["arguments", "vocab", *factories], frame=inspect.currentframe(),
                                  logger=False)
        for name in filter(is_optimizer_parameter, arguments):
            setattr(self, name, plain(arguments[name]))
        self.eval_samples: list[str] = []
        self.run_config: dict | None = None  # the resolved run config, set by train.py, saved in checkpoints
        self.metrics = torch.nn.ModuleDict()  # what evaluation measures: set_metrics (train.py)

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

    def teacher_forcing_pair(self, batch) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """(the generator's inputs, the target `[batch, seq_len]`) of a batch of real data: `((tokens,), tokens)`
        for an unconditional generator."""
        return (batch,), batch

    def mle_step(self, batch, opt) -> torch.Tensor:
        """One teacher-forced maximum-likelihood step of `self.generator` on a batch of real data: per-token mean
        cross-entropy of the target (`teacher_forcing_pair`) over its real tokens, `<eos>` included."""
        inputs, target = self.teacher_forcing_pair(batch)
        loss = mle_loss(self.generator(*inputs), target, token_mask(target, self.vocab.pad_id))
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
    def set_metrics(self, metrics: Mapping[str, Metric]) -> None:
        """Use `metrics` (`{name: torchmetrics.Metric}`, see `textgan.metrics.objects`; `train.py` builds them from
        the `metrics:` config with `textgan.metrics.build`) at every evaluation. They are child modules (moved to
        the method's device) whose states are not saved in checkpoints."""
        self.metrics = torch.nn.ModuleDict(dict(metrics))

    def metrics_of(self, inputs: str) -> list[Metric]:
        """The configured metrics that take `inputs` ("heldout", "samples" or "responses")."""
        return [m for m in self.metrics.values() if m.inputs == inputs]

    def compute_metrics(self, inputs: str) -> dict[str, float]:
        """`compute()` of every metric of `inputs` that was updated (under DDP: over all ranks' updates), then
        reset them for the next evaluation."""
        out: dict[str, float] = {}
        for metric in self.metrics_of(inputs):
            if metric.update_count:
                out.update(metric.compute())
            metric.reset()
        return out

    def reset_metrics(self) -> None:
        for metric in self.metrics.values():
            metric.reset()

    def _eval_step(self, batch) -> None:
        heldout = self.metrics_of("heldout")
        if heldout and hasattr(self.generator, "log_probs"):
            tokens = batch
            logp, mask = self.generator.log_probs(tokens), token_mask(tokens, self.vocab.pad_id)
            for metric in heldout:
                metric.update(logp, mask)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch)

    def test_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch)

    def sample_metrics(self, samples: torch.Tensor) -> dict[str, float]:
        """The configured sample metrics of generated `samples` `[n, seq_len]` (NLL-oracle, BLEU, Self-BLEU, n-gram
        JS, grammar validity, ... as the `metrics:` config says). Under DDP every rank passes its own samples and
        gets the value over all ranks' samples. Methods add what they log with them (e.g. their iteration)."""
        for metric in self.metrics_of("samples"):
            metric.update(samples)
        return self.compute_metrics("samples")

    def evaluate_generator(self) -> dict[str, float]:
        """Draw this rank's share of `num_eval_samples` samples, keep the first 100 as text for the sample logger,
        and score them (`sample_metrics`)."""
        samples = self.generate(-(-self.num_eval_samples // self.trainer.world_size))
        self.eval_samples = [self.vocab.to_text(s) for s in samples[:100].tolist()]
        return self.sample_metrics(samples)

    def _eval_epoch_end(self, prefix: str) -> None:
        if self.trainer.sanity_checking:
            self.reset_metrics()
            return
        metrics = self.compute_metrics("heldout")
        # data-parallel: each rank draws its share (ranks are seeded apart); the metric objects score all ranks'
        # samples together, so every rank logs the same values
        metrics.update(self.evaluate_generator())
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
        # settings dataclasses (e.g. `textgan.decoding.DecodingSettings`) as dicts: a checkpoint holds plain data
        # only, so that `torch.load(weights_only=True)` reads it
        hparams = checkpoint.get("hyper_parameters", {})
        for key, value in hparams.items():
            if dataclasses.is_dataclass(value):
                hparams[key] = dataclasses.asdict(value)
        checkpoint["vocab"] = self.vocab.state_dict()
        checkpoint["phase"] = self.phase
        if self.run_config is not None:
            checkpoint["config"] = self.run_config

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "vocab" in checkpoint:
            self.vocab.check_same(Vocabulary.from_state_dict(checkpoint["vocab"]))



def log_row(module: pl.LightningModule, metrics: Mapping[str, float | torch.Tensor]) -> None:
    """`metrics` as one row of their own in every logger (with `epoch` and the current step, as Lightning's rows).

    For a value measured once per round (SeqGAN's policy-gradient loss and mean reward, measured at batch 0 of an
    adversarial epoch): `self.log` keeps a step value until the epoch ends and writes it again on every later
    row, so in `metrics.csv` it would reappear on each D-step row of the round, and a mean over rows would weight
    a round by its number of D steps. Logged here it appears once per measurement. Loggers write on rank 0 only."""
    trainer = module._trainer
    if trainer is None or not trainer.loggers:
        return
    row = {name: float(value) for name, value in metrics.items()}  # one host copy per round
    trainer._logger_connector.log_metrics(row)  # adds `epoch`, uses Lightning's step: rows line up with its own
