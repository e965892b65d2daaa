"""Conditional (dialogue) generation: what every response generator shares, and the MLE baseline.

- `DialogueMethod`: a `TextGANModule` whose generator maps a context to a response (`textgan.models.seq2seq`).
  Batches are `(context [B, context_len], response [B, seq_len])`. Evaluation (Lightning's validation
  schedule, the base class's `_eval_epoch_end`) feeds the metric objects of the `metrics:` config
  (`conf/metrics/dialogue.yaml`): NLL-test of the human responses (teacher forcing, padding excluded, `<eos>`
  included) over the whole evaluation split, and the responses decoded as `decoding` says
  (`textgan.decoding.DecodingSettings`: greedy | beam | sample) for the first `num_eval_samples` contexts
  (split across DDP ranks, scored together), scored by BLEU-2/4 against each context's human response,
  distinct-1/2 (two definitions: `distinct_<n>` = distinct n-grams / n-grams, `distinct_<n>_per_token` =
  distinct n-grams / tokens, the one of Li et al. 2016) and the average length (`textgan.metrics.objects`);
  then two copies of the model talk as `simulation` says (`textgan.dialogue.simulation.SimulationSettings`), from the
  first `simulation.inputs` contexts for up to `simulation.max_turns` turns (decoded like the responses), and
  `sim_length` is the mean simulated dialogue length (Li et al. 2016, sec. 5.2). `self.eval_samples` holds
  "context | human | generated" lines for the sample logger, `self.eval_sample_table` the same samples as
  (context, human, generated) columns.
- `Seq2SeqMLE` (`method=seq2seq`): teacher-forced maximum likelihood (Sutskever et al. 2014; Vinyals & Le 2015),
  the MLE baseline of Li et al. (2017) and the pre-training of `method=dialogue_seqgan`: the training of
  `textgan.methods.mle.MLETraining`, on (context, response) pairs.
"""

from __future__ import annotations

import dataclasses

import torch

from textgan.data.vocab import Vocabulary
from textgan.decoding import DecodingSettings, decode
from textgan.dialogue.rewards import DULL_RESPONSES
from textgan.dialogue.simulation import Simulation, SimulationSettings, dialogue_length, simulate
from textgan.errors import ConfigError, read_checkpoint, weights_misfit
from textgan.methods.base import ModelFactory, TextGANModule
from textgan.methods.mle import MLETraining
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt


class DialogueMethod(TextGANModule):
    """Base of the context -> response methods: teacher forcing on pairs, decoding and dialogue evaluation.

    A subclass's settings `vocab`, `seq_len`, `num_eval_samples`, `grad_clip` are those of `TextGANModule`
    (`seq_len`: the longest response, `<eos>` included; `num_eval_samples`: contexts decoded at each evaluation).

    A subclass takes `decoding: DecodingSettings` (how responses are decoded) and `simulation:
    SimulationSettings` (the simulated dialogues of each evaluation) and saves them with its other arguments
    (`save_hyperparameters`); this class reads them as `self.hparams.decoding` and `self.hparams.simulation`.
    """

    needs_data = "pairs"  # (context, response) batches of a data module whose `provides_data` is "pairs"

    def __init__(self, arguments: dict):
        super().__init__(arguments)
        self._eval_pairs: list[tuple[list[str], list[str], list[str]]] = []
        self._sim_contexts: list[torch.Tensor] = []
        self.eval_dialogues: list[list[list[str]]] = []  # the last evaluation's simulated dialogues
        self.eval_sample_table: tuple[tuple[str, ...], list[tuple[str, ...]]] | None = None

    def build_generator(self, generator: ModelFactory) -> torch.nn.Module:
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

    def teacher_forcing_pair(self, batch) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """`((context, response), response)`: the generator reads the context and the response so far."""
        context, response = self.unpack(batch)
        return (context, response), response

    def load_pretrained_generator(self, path: str, into: torch.nn.Module | None = None) -> None:
        """Copy the generator weights of a checkpoint trained on the same vocabulary into `into` (default
        `self.generator`)."""
        ckpt = read_checkpoint(path)
        if "vocab" in ckpt:
            self.vocab.check_same(Vocabulary.from_state_dict(ckpt["vocab"]),
                                  what=f"pretrained checkpoint {path}")
        state = {k[len("generator."):]: v for k, v in ckpt.get("state_dict", {}).items()
                 if k.startswith("generator.")}
        if not state:
            raise ConfigError(f"{path} holds no generator weights (no 'generator.*' in its state_dict); "
                             "give a checkpoint of method=seq2seq or method=dialogue_seqgan")
        target = self.generator if into is None else into
        misfit = weights_misfit(target.state_dict(), state)
        if misfit:
            raise ConfigError(f"the generator of {path} does not match method.generator ({misfit}); train and load "
                              "with the same model config")
        target.load_state_dict(state)

    @torch.no_grad()
    def respond(self, context: torch.Tensor, method: str | None = None, **kwargs) -> torch.Tensor:
        """Responses `[batch, seq_len]` to `context` `[batch, context_len]`, decoded by `method` (default
        `decoding.decode`) with this method's beam / sampling settings (`self.hparams.decoding`) unless
        overridden in `kwargs`."""
        settings = {**dataclasses.asdict(self.hparams.decoding), **kwargs}
        default, max_len = settings.pop("decode"), settings.pop("max_len", self.seq_len)
        return decode(self.generator.bind(context), max_len, method or default, **settings)

    def generate(self, num_samples: int, **kwargs) -> torch.Tensor:
        raise NotImplementedError("a dialogue generator answers contexts: use respond(context) "
                                  "(or textgan.cli.chat)")

    # ------------------------------------------------------------------ evaluation
    def _eval_step(self, batch) -> None:
        context, response = self.unpack(batch)
        heldout = self.metrics_of("heldout")
        if heldout:
            logp, mask = self.generator.log_probs(context, response), response != self.vocab.pad_id
            for metric in heldout:
                metric.update(logp, mask)
        if self.trainer.sanity_checking:
            return
        sim_left = self.hparams.simulation.inputs - sum(len(c) for c in self._sim_contexts)
        if sim_left > 0:
            self._sim_contexts.append(context[:sim_left])
        # data-parallel: each rank answers its share of the first contexts; the metric objects score all ranks'
        # responses together
        left = -(-self.num_eval_samples // self.trainer.world_size) - len(self._eval_pairs)
        if left > 0:
            context, response = context[:left], response[:left]
            generated = self.respond(context)
            for metric in self.metrics_of("responses"):
                metric.update(generated, response)
            decode_ids = self.vocab.decode
            for c, h, g in zip(context.tolist(), response.tolist(), generated.tolist()):
                self._eval_pairs.append((decode_ids(c), decode_ids(h), decode_ids(g)))

    # ------------------------------------------------------------------ simulation
    def context_layout(self) -> dict:
        """How contexts are built in a simulation: the datamodule's `context_turns`, `max_context_len`,
        `context_eos` (defaults 1, `seq_len - 1`, True without one)."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        return {"context_turns": getattr(dm, "context_turns", 1),
                "max_context_len": getattr(dm, "max_context_len", self.seq_len - 1),
                "context_eos": getattr(dm, "context_eos", True)}

    def simulate_dialogues(self, start: torch.Tensor, num_turns: int, method: str | None = None,
                           context_turns: int = 1, max_context_len: int | None = None, context_eos: bool = True,
                           **kwargs) -> Simulation:
        """Two copies of the model talk from the inputs `start` `[B, *]` (`textgan.dialogue.simulation.simulate`):
        `num_turns` responses `[B, seq_len]` decoded by `method` (default `decoding.decode`; `kwargs` override the
        decoding settings as in `respond`)."""
        v = self.vocab
        return simulate([lambda c: self.respond(c, method, **kwargs)], start, num_turns, context_turns,
                        max_context_len or self.seq_len - 1, v.pad_id, v.eos_id, context_eos)

    def dull_token_lists(self) -> list[list[str]]:
        """The dull responses tokenized like the data (`tokenize_text` of the datamodule, else words)."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        split = getattr(dm, "tokenize_text", str.split)
        texts = self.hparams.simulation.dull_responses
        return [split(text) for text in (DULL_RESPONSES if texts is None else texts)]

    def simulation_metrics(self, start: torch.Tensor) -> tuple[dict[str, float], list[list[list[str]]]]:
        """`sim_length`: the mean `dialogue_length` of dialogues simulated from `start`; and the dialogues as
        token lists."""
        settings = self.hparams.simulation
        turns = self.simulate_dialogues(start, settings.max_turns, **self.context_layout()).turns
        decoded = [[self.vocab.decode(row) for row in turn.tolist()] for turn in turns]
        dialogues = [list(d) for d in zip(*decoded)]
        dull = self.dull_token_lists()
        lengths = [dialogue_length(d, dull, settings.dull_similarity, settings.repeat_similarity)
                   for d in dialogues]
        return {"sim_length": sum(lengths) / len(lengths)}, dialogues

    def evaluate_generator(self) -> dict[str, float]:
        """The response metrics of this evaluation's decoded pairs (over all ranks' pairs), the lines of the first
        100 for the sample logger, and the simulated dialogues' `sim_length`."""
        metrics = self.compute_metrics("responses")
        pairs, self._eval_pairs = self._eval_pairs, []
        sim_contexts, self._sim_contexts = self._sim_contexts, []
        if pairs:
            sep = self.vocab.separator
            self.eval_samples = [f"context: {sep.join(c)} | human: {sep.join(h)} | generated: {sep.join(g)}"
                                 for c, h, g in pairs[:100]]
            # the same samples by column, for the sample logger's tables (W&B, TensorBoard, .tsv)
            self.eval_sample_table = (("context", "human", "generated"),
                                      [tuple(sep.join(part) for part in pair) for pair in pairs[:100]])
        if sim_contexts:
            sim, dialogues = self.simulation_metrics(torch.cat(sim_contexts))
            metrics.update(sim)
            self.eval_dialogues = dialogues
        return metrics


class Seq2SeqMLE(MLETraining, DialogueMethod):
    """Train the seq2seq `generator` by teacher-forced cross-entropy for `epochs` epochs with `optimizer`
    (default Adam, lr 1e-3); evaluation decodes by `decoding` and simulates dialogues by `simulation`."""

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        seq_len: int,
        epochs: NonNegativeInt = 10,
        optimizer: OptimizerFactory = adam(lr=1e-3),
        grad_clip: NonNegativeFloat = 5.0,
        num_eval_samples: PositiveInt = 1000,
        decoding: DecodingSettings = DecodingSettings(),
        simulation: SimulationSettings = SimulationSettings(),
    ):
        super().__init__(locals())
        self.generator = self.build_generator(generator)
