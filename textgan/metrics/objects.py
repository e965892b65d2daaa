"""The evaluation metrics as `torchmetrics.Metric` objects: accumulate over batches, reduce across processes,
compute once.

Each object wraps the arithmetic of its module in `textgan.metrics` (nothing is computed twice in two ways); the
object adds only what evaluation needs around it: which inputs it takes, what it keeps between batches and how a
data-parallel run combines that. Every `compute()` returns `{logged name: float}` (the names are the `val/<name>`,
`test/<name>` keys), or `{}` when there is nothing to score.

What a method feeds them is named by the class attribute `inputs`:
- `"heldout"`: `update(logp [batch, seq_len], mask [batch, seq_len])`, the generator's log-likelihood of
  held-out real tokens (`NLLTest`);
- `"samples"`: `update(samples [n, seq_len])`, generated token ids (`NLLOracle`, `BLEU`, `SelfBLEU`, `NgramJS`,
  `CFGValidity`);
- `"responses"`: `update(generated [n, len], human [n, len])`, responses to the same contexts (`ResponseBLEU`,
  `Distinct`, `AverageLength`).

Reduction across processes (DDP). Sums (NLL totals, token counts) are states reduced by `sum`: the NLL of all
ranks' tokens. Set-level metrics (BLEU and Self-BLEU, n-gram JS, uniqueness, distinct-n) are not sums: Self-BLEU
of two halves averaged is not Self-BLEU of the whole. Their objects keep the token ids (`dist_reduce_fx="cat"`), so
`compute()` scores the samples of every rank together, once, and every rank gets the same value.

What a metric needs from the data (references, the oracle, the grammar) is a constructor argument named in
`needs`; `textgan.metrics.build` passes it from the data module, which lists what it provides in its
`eval_provides`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from textgan.metrics.bleu import bleu_scores, self_bleu_scores
from textgan.metrics.cfg_validity import cfg_sample_metrics, expression_tokens
from textgan.metrics.diversity import average_length, distinct_n, distinct_n_per_token
from textgan.metrics.ngram_js import NgramCounts, js_divergence
from textgan.metrics.nll import nll_sums, perplexity
from textgan.metrics.response_bleu import response_bleu


class _SumMetric(Metric):
    """`total` and `count` (float64 scalars, summed across processes); `compute` divides them."""

    full_state_update = False

    def __init__(self):
        super().__init__()
        self.add_state("total", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")


class NLLTest(_SumMetric):
    """NLL-test: the generator's mean per-token NLL (nats) of held-out real data, and `perplexity` = exp of it.

    `update(logp, mask)`: the log-probabilities `[batch, seq_len]` the generator gives the real tokens and the
    tokens that count (bool, same shape; padding excluded, `<eos>` included)."""

    inputs = "heldout"
    needs: tuple[str, ...] = ()

    def update(self, logp: torch.Tensor, mask: torch.Tensor) -> None:
        self.total += -(logp * mask).sum().double()
        self.count += mask.sum().double()

    def compute(self) -> dict[str, float]:
        if self.count == 0:
            return {}
        nll = (self.total / self.count).item()
        return {"nll_test": nll, "perplexity": perplexity(nll)}


class NLLOracle(_SumMetric):
    """NLL-oracle (SeqGAN, Yu et al. 2017, eq. 12): the oracle's mean per-token NLL of generated samples
    `[n, seq_len]` (fixed length, no padding), summed over batches and processes (`nll_sums`)."""

    inputs = "samples"
    needs = ("oracle",)

    def __init__(self, oracle: torch.nn.Module, batch_size: int = 1024):
        super().__init__()
        # a tuple keeps the oracle out of this module's children: its weights belong to the data, not to the
        # method's checkpoint
        self._oracle = (oracle,)
        self.batch_size = batch_size

    def update(self, samples: torch.Tensor) -> None:
        oracle = self._oracle[0].to(samples.device)
        total, count = nll_sums(oracle, samples, None, self.batch_size)
        self.total += total
        self.count += count

    def compute(self) -> dict[str, float]:
        return {"nll_oracle": (self.total / self.count).item()} if self.count > 0 else {}


class _SampleSetMetric(Metric):
    """Keeps every generated sample (`samples`, token ids, concatenated across processes) and scores all of them
    at once in `score(samples [n, seq_len])`."""

    inputs = "samples"
    full_state_update = False

    def __init__(self):
        super().__init__()
        self.add_state("samples", default=[], dist_reduce_fx="cat")

    def update(self, samples: torch.Tensor) -> None:
        self.samples.append(samples.detach().long())

    def compute(self) -> dict[str, float]:
        samples = dim_zero_cat(self.samples) if len(self.samples) else None
        if samples is None or samples.numel() == 0:
            return {}
        return self.score(samples.long())

    def score(self, samples: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError


class BLEU(_SampleSetMetric):
    """`bleu<n><suffix>` for n in `ns`: BLEU-n of the first `num_samples` decoded samples against the test split
    (`test_references`, token lists; `textgan.metrics.bleu.bleu_scores`, as in Yu et al. 2017, sec. 5.2), or
    against its first `num_references` sentences only (Texygen's default "fast" BLEU scores against the first
    500 test sentences: `num_references: 500, suffix: _texygen500`). The two protocols give different scales,
    so the suffix names the protocol in the logged key."""

    needs = ("test_references",)

    def __init__(self, vocab, test_references: Sequence[Sequence[str]], ns: Sequence[int] = (2, 3, 4, 5),
                 num_samples: int = 1000, num_references: int | None = None, suffix: str = ""):
        super().__init__()
        if num_references is not None and num_references < 1:
            raise ValueError(f"num_references must be >= 1 or null (all), got {num_references}")
        self.vocab, self.references = vocab, list(test_references[:num_references])
        self.ns, self.num_samples, self.suffix = tuple(int(n) for n in ns or ()), num_samples, suffix

    def score(self, samples: torch.Tensor) -> dict[str, float]:
        if not (self.ns and self.num_samples and self.references):
            return {}
        hyps = [self.vocab.decode(s) for s in samples[: self.num_samples].tolist()]
        return {f"bleu{n}{self.suffix}": v for n, v in bleu_scores(hyps, self.references, self.ns).items()}


class SelfBLEU(_SampleSetMetric):
    """`self_bleu<n><suffix>` for n in `ns`: Self-BLEU-n of the first `num_samples` decoded samples (each against
    all the others, Zhu et al. 2018; `textgan.metrics.bleu.self_bleu_scores`); needs at least two samples.
    Texygen's default "fast" Self-BLEU takes the first 500 samples (`num_samples: 500, suffix: _texygen500`)."""

    needs: tuple[str, ...] = ()

    def __init__(self, vocab, ns: Sequence[int] = (2, 3, 4, 5), num_samples: int = 1000, suffix: str = ""):
        super().__init__()
        self.vocab = vocab
        self.ns, self.num_samples, self.suffix = tuple(int(n) for n in ns or ()), num_samples, suffix

    def score(self, samples: torch.Tensor) -> dict[str, float]:
        hyps = [self.vocab.decode(s) for s in samples[: self.num_samples].tolist()]
        if not self.ns or len(hyps) < 2:
            return {}
        return {f"self_bleu{n}{self.suffix}": v for n, v in self_bleu_scores(hyps, self.ns).items()}


class NgramJS(_SampleSetMetric):
    """`js<n>` for n in `orders`: JS divergence (bits) between the n-grams of the samples and of the training data
    (WGAN-GP's language benchmark, Gulrajani et al. 2017, sec. 5.2; `textgan.metrics.ngram_js`), and
    `js<n>_real_floor`: the same for the first `floor_samples` held-out real sequences (the figure a perfect
    generator reaches with that many sequences; computed once)."""

    needs = ("train_tokens", "test_tokens")

    def __init__(self, vocab, train_tokens: torch.Tensor, test_tokens: torch.Tensor,
                 orders: Sequence[int] = (1, 2, 3, 4), floor_samples: int = 640):
        super().__init__()
        self.vocab_size, self.orders = len(vocab), tuple(int(n) for n in orders)
        self._train_tokens, self._test_tokens, self.floor_samples = train_tokens, test_tokens, floor_samples
        self._train_ngrams: list[NgramCounts] | None = None
        self._floor: dict[str, float] | None = None

    def reference_ngrams(self) -> list[NgramCounts]:
        if self._train_ngrams is None:  # the training set is large: counted once per run
            self._train_ngrams = [NgramCounts(self._train_tokens, n, self.vocab_size) for n in self.orders]
        return self._train_ngrams

    def real_data_floor(self) -> dict[str, float]:
        if self._floor is None:
            held_out = self._test_tokens[: self.floor_samples]
            self._floor = {f"js{n}_real_floor": js_divergence(NgramCounts(held_out, n, self.vocab_size), ref)
                           for n, ref in zip(self.orders, self.reference_ngrams())}
        return self._floor

    def score(self, samples: torch.Tensor) -> dict[str, float]:
        metrics = {f"js{n}": js_divergence(NgramCounts(samples, n, self.vocab_size), ref)
                   for n, ref in zip(self.orders, self.reference_ngrams())}
        return {**metrics, **self.real_data_floor()}


class CFGValidity(_SampleSetMetric):
    """`cfg_valid`, `unique`, `novel` of the samples under the arithmetic grammar of the Gumbel-softmax GAN paper
    (Kusner & Hernandez-Lobato 2016, sec. 4; `textgan.metrics.cfg_validity.cfg_sample_metrics`), against the
    training strings `train_strings`."""

    needs = ("train_strings", "variables", "max_tokens")

    def __init__(self, vocab, train_strings: set[str], variables: Sequence[str], max_tokens: int):
        super().__init__()
        self.vocab, self.train_strings = vocab, train_strings
        self.variables, self.max_tokens = tuple(variables), max_tokens

    def score(self, samples: torch.Tensor) -> dict[str, float]:
        expressions = [expression_tokens(self.vocab, s) for s in samples.tolist()]
        return cfg_sample_metrics(expressions, self.train_strings, self.variables, self.max_tokens)


class _ResponseSetMetric(Metric):
    """Keeps generated and human responses (token ids, padded to one width, concatenated across processes) and
    scores all pairs at once in `score(generated, human)` (decoded token lists, `<eos>`/`<pad>` stripped)."""

    inputs = "responses"
    needs: tuple[str, ...] = ()
    full_state_update = False

    def __init__(self, vocab, seq_len: int):
        super().__init__()
        self.vocab, self.seq_len = vocab, seq_len
        self.add_state("generated", default=[], dist_reduce_fx="cat")
        self.add_state("human", default=[], dist_reduce_fx="cat")

    def _padded(self, ids: torch.Tensor) -> torch.Tensor:
        # rows of every batch and rank must have one width to be concatenated; decoding drops the padding again
        width = max(self.seq_len, ids.shape[1])
        return F.pad(ids.detach().long(), (0, width - ids.shape[1]), value=self.vocab.pad_id)

    def update(self, generated: torch.Tensor, human: torch.Tensor) -> None:
        self.generated.append(self._padded(generated))
        self.human.append(self._padded(human))

    def compute(self) -> dict[str, float]:
        if not len(self.generated):
            return {}
        generated, human = dim_zero_cat(self.generated), dim_zero_cat(self.human)
        if generated.numel() == 0:
            return {}
        decode = self.vocab.decode
        return self.score([decode(g) for g in generated.tolist()], [decode(h) for h in human.tolist()])

    def score(self, generated: list[list[str]], human: list[list[str]]) -> dict[str, float]:
        raise NotImplementedError


class ResponseBLEU(_ResponseSetMetric):
    """`bleu<n>` for n in `ns`: the mean BLEU-n of each generated response against its own human response
    (`textgan.metrics.response_bleu`)."""

    def __init__(self, vocab, seq_len: int, ns: Sequence[int] = (2, 4)):
        super().__init__(vocab, seq_len)
        self.ns = tuple(int(n) for n in ns)

    def score(self, generated: list[list[str]], human: list[list[str]]) -> dict[str, float]:
        references = [[h] for h in human]
        return {f"bleu{n}": response_bleu(generated, references, n) for n in self.ns}


class Distinct(_ResponseSetMetric):
    """`distinct_<n>` (distinct n-grams / n-grams) and `distinct_<n>_per_token` (distinct n-grams / tokens, Li et
    al. 2016) of all generated responses together (`textgan.metrics.diversity`)."""

    def __init__(self, vocab, seq_len: int, ns: Sequence[int] = (1, 2)):
        super().__init__(vocab, seq_len)
        self.ns = tuple(int(n) for n in ns)

    def score(self, generated: list[list[str]], human: list[list[str]]) -> dict[str, float]:
        metrics = {f"distinct_{n}": distinct_n(generated, n) for n in self.ns}
        metrics.update({f"distinct_{n}_per_token": distinct_n_per_token(generated, n) for n in self.ns})
        return metrics


class AverageLength(_ResponseSetMetric):
    """`avg_len`: the mean number of tokens of the generated responses."""

    def score(self, generated: list[list[str]], human: list[list[str]]) -> dict[str, float]:
        return {"avg_len": average_length(generated)}
