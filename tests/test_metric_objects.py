"""`textgan.metrics.objects` / `textgan.metrics.build`: each metric object gives the value of the pure function it
wraps (and hand-computed values), built from what the data provides; under a 2-process gloo run, each rank
updating with its half, `compute()` equals one process's value over all samples (set-level metrics are computed
once over the gathered samples, never averaged per rank)."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from textgan.data.cfg import CFGDataModule
from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.metrics.bleu import bleu_scores, self_bleu_scores
from textgan.metrics.build import build_metrics, check_metrics
from textgan.metrics.ngram_js import NgramCounts, js_divergence
from textgan.metrics.nll import nll_oracle
from textgan.metrics.objects import (
    BLEU,
    AverageLength,
    CFGValidity,
    Distinct,
    NgramJS,
    NLLOracle,
    NLLTest,
    ResponseBLEU,
    SelfBLEU,
)
from textgan.models.oracle import build_oracle

WORDS = ["a", "b", "c", "d", "e"]


def _vocab() -> Vocabulary:
    return Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", *WORDS])


def _ids(vocab: Vocabulary, lines: list[str], width: int = 6) -> torch.Tensor:
    out = torch.full((len(lines), width), vocab.pad_id, dtype=torch.long)
    for i, line in enumerate(lines):
        ids = vocab.encode(line.split(), add_eos=True)
        out[i, : len(ids)] = torch.tensor(ids)
    return out


def _computed(metric, *inputs) -> dict[str, float]:
    metric.update(*inputs)
    return metric.compute()


# ------------------------------------------------------------------------------------------------ by hand
def test_nll_test_is_the_mean_over_scored_tokens():
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.9], [0.125, 0.9, 0.9]]))
    mask = torch.tensor([[True, True, False], [True, False, False]])
    metric = NLLTest()
    metric.update(logp[:1], mask[:1])
    metric.update(logp[1:], mask[1:])
    expected = (math.log(2) + math.log(4) + math.log(8)) / 3  # 2 log 2
    out = metric.compute()
    assert out["nll_test"] == pytest.approx(expected, rel=1e-6)  # float32 log-probabilities
    assert out["perplexity"] == pytest.approx(4.0, rel=1e-6)


def test_nll_oracle_equals_the_function_and_adds_up_over_batches():
    oracle = build_oracle(vocab_size=7, embed_dim=4, hidden_dim=4, seed=3)
    torch.manual_seed(0)
    samples = torch.randint(0, 7, (40, 5))
    assert _computed(NLLOracle(oracle), samples) == {"nll_oracle": nll_oracle(oracle, samples)}
    metric = NLLOracle(oracle)
    metric.update(samples[:15])
    metric.update(samples[15:])
    # each batch's sum is a float32 sum, as in the function's chunks
    assert metric.compute()["nll_oracle"] == pytest.approx(nll_oracle(oracle, samples), rel=1e-6)
    assert not any(name.startswith("_oracle") for name in metric.state_dict())  # the data's weights stay out


def test_bleu_and_self_bleu_by_hand_and_as_the_functions():
    v = _vocab()
    same = _ids(v, ["a b c", "a b c"])
    assert _computed(SelfBLEU(v, ns=(2,)), same) == {"self_bleu2": 1.0}
    assert _computed(BLEU(v, [["a", "b", "c"]], ns=(2, 3)), same) == {"bleu2": 1.0, "bleu3": 1.0}
    assert _computed(BLEU(v, [["d", "e"]], ns=(2,)), same)["bleu2"] < 0.2
    samples = _ids(v, ["a b c d", "a c b", "e d c b a", "b b b"])
    refs = [["a", "b", "c", "d", "e"], ["c", "b", "a"]]
    hyps = [v.decode(s) for s in samples.tolist()]
    assert _computed(BLEU(v, refs, ns=(2, 3), num_samples=3), samples) == {
        f"bleu{n}": x for n, x in bleu_scores(hyps[:3], refs, (2, 3)).items()}
    assert _computed(SelfBLEU(v, ns=(2,)), samples) == {"self_bleu2": self_bleu_scores(hyps, (2,))[2]}
    assert _computed(SelfBLEU(v, ns=(2,)), samples[:1]) == {}  # one sample has no others


def test_distinct_length_and_response_bleu_by_hand():
    v = _vocab()
    generated = _ids(v, ["a a b", "a c"], width=4)  # narrower than seq_len: padded, then decoding drops the padding
    human = _ids(v, ["a a b", "d e"])
    d = _computed(Distinct(v, seq_len=6, ns=(1, 2)), generated, human)
    # unigrams a a b a c: 3 distinct of 5; bigrams (a a) (a b) (a c): 3 of 3; per token: 3 / 5 both
    assert d == {"distinct_1": 0.6, "distinct_2": 1.0, "distinct_1_per_token": 0.6, "distinct_2_per_token": 0.6}
    assert _computed(AverageLength(v, seq_len=6), generated, human) == {"avg_len": 2.5}
    bleu = _computed(ResponseBLEU(v, seq_len=6, ns=(2,)), generated, human)["bleu2"]
    assert bleu == pytest.approx((1.0 + bleu_scores([["a", "c"]], [["d", "e"]], (2,))[2]) / 2, rel=1e-12)


def test_ngram_js_is_zero_on_the_training_data_and_the_function_otherwise():
    v = _vocab()
    train = _ids(v, ["a b c", "b c d", "c d e"])
    test = _ids(v, ["a b c", "e e e"])
    out = _computed(NgramJS(v, train, test, orders=(1, 2), floor_samples=2), train)
    assert out["js1"] == 0.0 and out["js2"] == 0.0
    other = _ids(v, ["e d c", "a a a"])
    out = _computed(NgramJS(v, train, test, orders=(2,), floor_samples=1), other)
    ref = NgramCounts(train, 2, len(v))
    assert out["js2"] == js_divergence(NgramCounts(other, 2, len(v)), ref)
    assert out["js2_real_floor"] == js_divergence(NgramCounts(test[:1], 2, len(v)), ref)


def test_cfg_validity_counts_distinct_valid_and_novel_strings():
    dm = CFGDataModule(num_train=50, num_test=10, seed=1)
    dm.setup()
    expr = dm.vocab.encode(["x", "+", "y"], add_eos=True)
    bad = dm.vocab.encode(["x", "+"], add_eos=True)
    rows = torch.full((3, dm.seq_len), dm.vocab.pad_id, dtype=torch.long)
    rows[0, :4] = rows[1, :4] = torch.tensor(expr)
    rows[2, :3] = torch.tensor(bad)
    out = _computed(CFGValidity(dm.vocab, set(), dm.variables, dm.max_tokens), rows)
    assert out == {"cfg_valid": 2 / 3, "unique": 1 / 2, "novel": 1.0}


# ------------------------------------------------------------------------------------------------ building
def test_build_passes_what_the_data_provides_and_refuses_mistakes_in_one_line():
    dm = CFGDataModule(num_train=50, num_test=10, seed=1)
    dm.setup()
    built = build_metrics({"nll_test": {"_target_": "textgan.metrics.objects.NLLTest"},
                           "cfg": {"_target_": "textgan.metrics.objects.CFGValidity"}, "off": None},
                          dm, dm.vocab, dm.seq_len)
    assert set(built) == {"nll_test", "cfg"} and built["cfg"].train_strings is dm.train_strings
    mistakes = {
        "is not a textgan metric": {"x": {"_target_": "os.system"}},
        "needs the data's oracle": {"x": {"_target_": "textgan.metrics.objects.NLLOracle"}},
        "nss is not a setting of SelfBLEU": {"x": {"_target_": "textgan.metrics.objects.SelfBLEU", "nss": [2]}},
        "scores responses to contexts": {"x": {"_target_": "textgan.metrics.objects.Distinct"}},
        "must be a node with a _target_": {"x": 3},
        "textgan builds nothing from it": {"x": {"_target_": "textgan.metrics.objects.SelfBLEU",
                                                 "ns": [{"_target_": "builtins.open", "_args_": ["pwned", "w"]}]}},
    }
    for message, cfg in mistakes.items():
        with pytest.raises(ConfigError, match=message) as info:
            check_metrics(cfg, CFGDataModule)
        assert "\n" not in str(info.value)


def test_a_run_config_with_metrics_its_data_cannot_feed_is_refused_before_anything_runs(tmp_path):
    from textgan.config.validate import validate_config

    from conftest import compose_config

    validate_config(compose_config(["experiment=smoke_mle", "data=cfg"], tmp_path))
    for overrides, message in ((["metrics=oracle"], r"metrics.nll_oracle \(NLLOracle\) needs the data's oracle"),
                               (["metrics=dialogue"], "scores responses to contexts")):
        with pytest.raises(ConfigError, match=message) as info:
            validate_config(compose_config(["experiment=smoke_mle", "data=cfg", *overrides], tmp_path))
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------------ DDP
def _fixtures():
    """The same metrics and inputs in every process (seeded): what each metric is updated with."""
    v = _vocab()
    gen = torch.Generator().manual_seed(5)
    samples = torch.randint(4, len(v), (24, 6), generator=gen)
    samples[:, 4:] = v.eos_id
    samples[::5] = samples[0]  # repeated samples: Self-BLEU of a half is not Self-BLEU of the whole
    human = torch.randint(4, len(v), (24, 6), generator=gen)
    logp = -torch.rand(24, 6, generator=gen, dtype=torch.float64).float() * 3
    mask = torch.rand(24, 6, generator=gen) > 0.3
    refs = [v.decode(r) for r in human[:8].tolist()]
    oracle = build_oracle(vocab_size=len(v), embed_dim=4, hidden_dim=4, seed=2)
    metrics = {
        "nll_test": NLLTest(), "nll_oracle": NLLOracle(oracle), "bleu": BLEU(v, refs, ns=(2, 3), num_samples=24),
        "self_bleu": SelfBLEU(v, ns=(2, 3), num_samples=24),
        "js": NgramJS(v, human, human, orders=(1, 2), floor_samples=8),
        "distinct": Distinct(v, seq_len=6), "response_bleu": ResponseBLEU(v, seq_len=6), "avg_len": AverageLength(v, 6),
    }
    inputs = {"heldout": (logp, mask), "samples": (samples,), "responses": (samples, human)}
    return metrics, inputs


def _compute_all(rows: slice) -> dict[str, float]:
    metrics, inputs = _fixtures()
    out = {}
    for metric in metrics.values():
        metric.update(*(x[rows] for x in inputs[metric.inputs]))
        out.update(metric.compute())
    return out


def _rank(rank: int, init_file: str, out_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        # rank 0 updates with the first 10 rows, rank 1 with the other 14 (uneven shares)
        values = _compute_all(slice(0, 10) if rank == 0 else slice(10, None))
        with open(f"{out_file}.{rank}", "w") as f:
            json.dump(values, f)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_compute_the_single_process_values(tmp_path):
    single = _compute_all(slice(None))
    # fork: the children start with this process's imports (spawn would import torch and textgan again in each)
    mp.start_processes(_rank, args=(str(tmp_path / "init"), str(tmp_path / "out")), nprocs=2, join=True,
                       start_method="fork")
    ranks = [json.loads((tmp_path / f"out.{r}").read_text()) for r in range(2)]
    assert set(single) == set(ranks[0]) == set(ranks[1])
    for name, value in single.items():
        if name in ("nll_test", "perplexity", "nll_oracle"):  # sums of float32 per-rank sums
            assert ranks[0][name] == pytest.approx(value, rel=1e-6), name
        else:  # set-level: the same gathered samples, the same arithmetic
            assert ranks[0][name] == value, name
        assert ranks[1][name] == ranks[0][name], name  # every rank logs the same value
    # the check has teeth: averaging each half's own value would give other numbers for the set-level metrics
    halves = [_compute_all(slice(0, 10)), _compute_all(slice(10, None))]
    for name in ("self_bleu2", "bleu2", "js2", "distinct_2"):
        assert (halves[0][name] + halves[1][name]) / 2 != pytest.approx(single[name], rel=1e-6), name
