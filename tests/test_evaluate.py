"""`textgan.cli.evaluate`: sampling temperatures on a toy model with a known answer (T -> 0 is the argmax, T = 1 is the
untempered model, a hand-computed tempered NLL), and the CSV / PNG of the quality-diversity plane."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from omegaconf import OmegaConf

from textgan.cli.evaluate import build_datamodule, main, parse_temperatures
from textgan.metrics.bleu import bleu_scores, self_bleu_scores
from textgan.metrics.nll import nll_oracle, sequence_nll
from textgan.models.lstm import LSTMGenerator
from textgan.sampling import gumbel_max, sample_next

from conftest import compose_config


def _constant_generator(logits: list[float]) -> LSTMGenerator:
    """An LSTM generator whose next-token logits are `logits` at every step, whatever the prefix."""
    gen = LSTMGenerator(len(logits), 4, 4)
    with torch.no_grad():
        gen.output.weight.zero_()
        gen.output.bias.copy_(torch.tensor(logits))
    return gen


# ------------------------------------------------------------------------------------------------ temperatures
def test_temperature_to_zero_samples_the_argmax():
    torch.manual_seed(0)
    logits = torch.randn(200, 30)
    assert torch.equal(sample_next(logits, 0.0), logits.argmax(-1))
    assert torch.equal(sample_next(logits, 1e-6), logits.argmax(-1))
    assert torch.equal(gumbel_max(logits, 1e-6), logits.argmax(-1))
    assert not torch.equal(sample_next(logits, 1.0), logits.argmax(-1))  # at T = 1 it really samples
    gen = LSTMGenerator(30, 8, 8)
    greedy = gen.sample(16, 7, decode="greedy")
    assert torch.equal(gen.sample(16, 7, temperature=1e-6), greedy)
    assert torch.equal(gen.sample(16, 7, temperature=0.0), greedy)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample_next(logits, -1.0)


def test_tempered_nll_on_a_hand_computed_distribution():
    # logits ln(1), ln(2), ln(4): at T = 2 the model is proportional to 1, sqrt(2), 2
    gen = _constant_generator([0.0, math.log(2), math.log(4)])
    z = 3 + math.sqrt(2)
    tokens = torch.tensor([[2, 1, 0], [2, 2, 2]])
    # row 1: ln z, ln z - ln sqrt(2), ln z - ln 2; row 2: 3 x (ln z - ln 2); mean over 6 tokens
    expected = (3 * math.log(z) - 1.5 * math.log(2) + 3 * (math.log(z) - math.log(2))) / 6
    assert sequence_nll(gen, tokens, temperature=2.0) == pytest.approx(expected, abs=1e-6)
    # T = 1: the model itself, p = (1, 2, 4) / 7
    untempered = (3 * math.log(7) - math.log(4) - math.log(2) + 3 * (math.log(7) - math.log(4))) / 6
    assert sequence_nll(gen, tokens, temperature=1.0) == pytest.approx(untempered, abs=1e-6)
    # and sampling at T = 2 draws from that same tempered distribution
    torch.manual_seed(1)
    draws = gen.sample(20_000, 1, temperature=2.0).flatten()
    freq = torch.bincount(draws, minlength=3).float() / draws.numel()
    assert torch.allclose(freq, torch.tensor([1, math.sqrt(2), 2]) / z, atol=0.015)


def test_nll_test_at_temperature_one_is_the_untempered_nll():
    torch.manual_seed(0)
    gen = LSTMGenerator(12, 8, 8, pad_id=0, eos_id=2)
    tokens = torch.randint(1, 12, (40, 9))
    tokens[::3, 6:] = 0  # padding is left out at every temperature
    plain = sequence_nll(gen, tokens, pad_id=0)
    assert sequence_nll(gen, tokens, pad_id=0, temperature=1.0) == plain
    mask = tokens != 0
    assert plain == pytest.approx(-(gen.log_probs(tokens) * mask).sum().item() / mask.sum().item(), rel=1e-6)
    assert sequence_nll(gen, tokens, pad_id=0, temperature=0.8) != pytest.approx(plain, rel=1e-3)


def test_temperature_ranges():
    assert parse_temperatures("0.5:1.5:0.25") == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert len(parse_temperatures("0.5:1.5:0.05")) == 21 and parse_temperatures("0.5:1.5:0.05")[-1] == 1.5
    assert parse_temperatures("0.7,1.0") == [0.7, 1.0]
    assert parse_temperatures("1") == [1.0]


# ------------------------------------------------------------------------------------------------ checkpoints
def _checkpoint(tmp_path, name: str, overrides: list[str], seed: int):
    """A checkpoint as train.py writes it (method + data config, vocabulary, weights) of an untrained MLE model;
    returns (path, method, datamodule)."""
    from hydra.utils import instantiate

    cfg = compose_config(["experiment=smoke_mle", *overrides], tmp_path / f"run_{name}")
    method_cfg = OmegaConf.to_container(cfg.method, resolve=True)
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    dm = build_datamodule(data_cfg)
    torch.manual_seed(seed)
    method = instantiate(OmegaConf.create(method_cfg), vocab=dm.vocab).eval()
    path = tmp_path / f"{name}.ckpt"
    metrics_cfg = OmegaConf.to_container(cfg.metrics, resolve=True)
    torch.save({"config": {"method": method_cfg, "data": data_cfg, "metrics": metrics_cfg},
                "vocab": dm.vocab.state_dict(), "state_dict": method.state_dict()}, path)
    return path, method, dm


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_oracle_plane_csv_and_png(tmp_path):
    a, method_a, dm = _checkpoint(tmp_path, "a", ["data=oracle_toy"], seed=1)
    b, _, _ = _checkpoint(tmp_path, "b", ["data=oracle_toy"], seed=2)
    out = tmp_path / "qd"
    assert main([f"ckpts=[{a},{b}]", "labels=[mle,other]", "temperatures=[0.5,1.0]", "num_samples=64",
                 "seed=3", f"out={out}", "progress=false"]) == 0
    rows = _rows(out / "quality_diversity.csv")
    assert [(r["label"], r["temperature"]) for r in rows] == [
        ("oracle (training data)", ""), ("mle", "0.5"), ("mle", "1"), ("other", "0.5"), ("other", "1")]
    assert all(r["nll_oracle"] and r["nll_test"] for r in rows)
    # every point is reproduced by the shared pieces: seeded samples at T scored by the oracle, NLL-test at T
    for row in rows[1:3]:
        t = float(row["temperature"])
        torch.manual_seed(3)
        samples = method_a.generate(64, temperature=t)
        assert float(row["nll_oracle"]) == pytest.approx(nll_oracle(dm.oracle, samples), rel=1e-9)
        assert float(row["nll_test"]) == pytest.approx(sequence_nll(method_a.generator, dm.test_tokens,
                                                                    temperature=t), rel=1e-9)
    assert float(rows[1]["nll_test"]) != pytest.approx(float(rows[2]["nll_test"]), rel=1e-4)
    real = rows[0]
    assert float(real["nll_test"]) == pytest.approx(sequence_nll(dm.oracle, dm.test_tokens), rel=1e-9)
    png = (out / "quality_diversity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_text_plane_bleu_and_self_bleu(tmp_path):
    words = "the cat sat on a mat dog ran far away".split()
    rng = torch.Generator().manual_seed(0)
    lines = [" ".join(words[i] for i in torch.randint(0, len(words), (6,), generator=rng).tolist())
             for _ in range(300)]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    a, method, dm = _checkpoint(tmp_path, "a", ["data=text_file", f"data.path={corpus}", "data.seq_len=8"], seed=1)
    out = tmp_path / "qd"
    assert main([f"ckpts=[{a}]", "temperatures=0.8:1.2:0.2", "num_samples=40", "seed=5", f"out={out}",
                 "progress=false"]) == 0
    rows = _rows(out / "quality_diversity.csv")
    assert [r["temperature"] for r in rows] == ["", "0.8", "1", "1.2"]
    assert rows[1]["label"] == "MLE" and rows[0]["label"] == "real data (training split)"
    assert all(r["bleu2"] and r["self_bleu2"] and r["nll_test"] for r in rows[1:])
    assert rows[0]["nll_test"] == ""  # real text has no model to score it
    # the real-data point: a seeded subset of the training split scored against the test references
    gen = torch.Generator().manual_seed(5)
    subset = dm.train_tokens[torch.randperm(len(dm.train_tokens), generator=gen)[:40]]
    num_bleu = torch.load(a, weights_only=True)["config"]["metrics"]["bleu"]["num_samples"]
    hyps = [dm.vocab.decode(s) for s in subset.tolist()][:num_bleu]
    assert float(rows[0]["bleu2"]) == pytest.approx(bleu_scores(hyps, dm.test_references, (2,))[2], rel=1e-12)
    assert float(rows[0]["self_bleu2"]) == pytest.approx(self_bleu_scores(hyps, (2,))[2], rel=1e-12)
    assert (out / "quality_diversity.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["temperatures=1"], "ckpts=[PATH,...] is required"),
    (["ckpts=[nowhere.ckpt]"], "no such file"),
    (["ckpts=[x]", "temperatures=0:1:0.5"], "every temperature must be > 0"),
    (["ckpts=[x]", "temperatures=a:b"], "write start:stop:step"),
    (["ckpts=[x]", "labels=[a,b]"], "2 label(s) for 1 ckpt(s)"),
    (["ckpts=[x]", "num_sample=3"], "unknown option 'num_sample'"),
    (["ckpts=[x]", "num_samples=many"], "must be an integer"),
])
def test_mistakes_are_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["ckpt=a.ckpt", "ckpt=b.ckpt"], "error: ckpt= is now ckpts= with a list: ckpts=[a.ckpt,b.ckpt]\n"),
    (["ckpts=[a]", "label=x"], "error: label= is now labels= with a list: labels=[x]\n"),
    (["ckpts=[a]", "temperatures=0.7,1.0"], "error: temperatures=0.7,1.0: write a list as temperatures=[0.7,1.0] "
                                            "(or sweep it, one job per value, with -m)\n"),
])
def test_old_spellings_name_the_new_one(args, message, capsys):
    assert main(args) == 2
    assert capsys.readouterr().err == message


def test_hydra_app_help_cfg_and_a_run_equal_to_main(tmp_path):
    """`python -m textgan.cli.evaluate` is the `@hydra.main` app: `--help` names the tool and its keys, `--cfg job`
    prints the composed options (`data.KEY=` included), an old spelling is one line, and a real run writes the
    same CSV as `main` with the same command line, and nothing else in the cwd."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    def evaluate(*args):
        return subprocess.run([sys.executable, "-m", "textgan.cli.evaluate", *map(str, args)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)

    helped = evaluate("--help")
    assert helped.returncode == 0 and "textgan-evaluate" in helped.stdout and "ckpts: []" in helped.stdout
    cfg = evaluate("--cfg", "job", "ckpts=[a.ckpt,b.ckpt]", "temperatures=[0.7,1.0]", "data.root=/elsewhere")
    assert cfg.returncode == 0, cfg.stderr
    assert OmegaConf.to_container(OmegaConf.create(cfg.stdout)) == {
        "ckpts": ["a.ckpt", "b.ckpt"], "labels": [], "temperatures": [0.7, 1.0], "num_samples": 10000, "seed": 0,
        "device": "auto", "batch_size": 256, "bleu_n": 2, "real": True, "out": None, "progress": True,
        "data": {"root": "/elsewhere"}}
    old = evaluate("ckpt=a.ckpt")
    assert old.returncode == 2 and old.stderr == "error: ckpt= is now ckpts= with a list: ckpts=[a.ckpt]\n"

    a, _, _ = _checkpoint(tmp_path, "a", ["data=oracle_toy"], seed=1)
    args = [f"ckpts=[{a}]", "labels=[mle]", "temperatures=0.5:1.0:0.5", "num_samples=32", "seed=3",
            "progress=false", "data.batch_size=16"]
    ran = evaluate(*args, f"out={tmp_path / 'cli'}")
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert main([*args, f"out={tmp_path / 'main'}"]) == 0
    cli_csv = (tmp_path / "cli" / "quality_diversity.csv").read_text()
    assert cli_csv == (tmp_path / "main" / "quality_diversity.csv").read_text()
    assert cli_csv.count("\n") == 4  # header, real data, T = 0.5, T = 1
    assert list(cwd.iterdir()) == []


def test_stored_data_config_is_allow_listed(tmp_path, capsys):
    marker = tmp_path / "ran"
    with pytest.raises(ValueError, match="not one of textgan's unconditional data classes"):
        build_datamodule({"_target_": "os.system", "command": f"touch {marker}"})
    nested = {"_target_": "textgan.data.cfg.CFGDataModule",
              "variables": {"_target_": "os.system", "command": f"touch {marker}"}}
    with pytest.raises(ValueError, match="nested _target_: refused"):
        build_datamodule(nested)
    assert not marker.exists()
    # the same refusal through the command line: one line, nothing run
    a, method, dm = _checkpoint(tmp_path, "a", ["data=oracle_toy"], seed=1)
    ckpt = torch.load(a, weights_only=True)
    ckpt["config"]["data"] = {"_target_": "os.system", "command": f"touch {marker}"}
    torch.save(ckpt, a)
    assert main([f"ckpts=[{a}]", "progress=false", f"out={tmp_path / 'qd'}"]) == 2
    err = capsys.readouterr().err
    assert "not one of textgan's unconditional data classes" in err and err.count("\n") == 1
    assert not marker.exists()


def test_checkpoints_of_different_data_are_refused(tmp_path, capsys):
    a, _, _ = _checkpoint(tmp_path, "a", ["data=oracle_toy"], seed=1)
    b, _, _ = _checkpoint(tmp_path, "b", ["data=oracle_toy", "data.seed=5"], seed=1)
    assert main([f"ckpts=[{a},{b}]", "progress=false", f"out={tmp_path / 'qd'}"]) == 2
    err = capsys.readouterr().err
    assert "data.seed differ" in err and err.count("\n") == 1


def test_report_draws_the_sweep_plane_mean_over_seeds(tmp_path):
    from textgan.cli.report import main as report_main

    sweep = tmp_path / "multirun" / "x"
    made = {}
    for num, (method, seed) in enumerate([("mle", 1), ("mle", 2), ("seqgan", 1)]):
        job = sweep / str(num)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- method={method}\n- seed={seed}\n")
        (job / "csv").mkdir()
        (job / "csv" / "metrics.csv").write_text("epoch,val/epoch,val/nll_oracle\n0,0,9.0\n")
        path, model, dm = _checkpoint(tmp_path, f"job{num}", ["data=oracle_toy"], seed=10 + num)
        (job / "checkpoints").mkdir()
        path.rename(job / "checkpoints" / "last.ckpt")
        made[(method, seed)] = model
    report_main([str(sweep), "--quality-diversity", "0.5,1.0", "--qd-samples", "32"])
    rows = _rows(sweep / "report" / "quality_diversity" / "quality_diversity.csv")
    assert [(r["label"], r["temperature"], r["runs"]) for r in rows] == [
        ("oracle (training data)", "", ""), ("method=mle", "0.5", "2.0"), ("method=mle", "1", "2.0"),
        ("method=seqgan", "0.5", "1.0"), ("method=seqgan", "1", "1.0")]
    # the mle curve is the mean (and sample std) over its two seeds' checkpoints
    nll = [sequence_nll(made[("mle", s)].generator, dm.test_tokens, temperature=0.5) for s in (1, 2)]
    assert float(rows[1]["nll_test"]) == pytest.approx(sum(nll) / 2, rel=1e-9)
    assert float(rows[1]["nll_test_std"]) == pytest.approx(abs(nll[0] - nll[1]) / math.sqrt(2), rel=1e-6)
    assert float(rows[3]["nll_test_std"]) == 0.0
    report = (sweep / "report" / "report.md").read_text()
    assert "![quality-diversity](quality_diversity/quality_diversity.png)" in report
    assert (sweep / "report" / "quality_diversity" / "quality_diversity.png").read_bytes()[:4] == b"\x89PNG"


def test_plane_axes_follow_what_the_data_measures():
    from textgan.cli.evaluate import Point, plane_axes

    def pts(*names):
        return [Point("m", "", 1.0, 1, dict.fromkeys(names, 0.5))]

    assert plane_axes(pts("nll_oracle", "nll_test"), 2) == ("nll_oracle", "nll_test")
    assert plane_axes(pts("bleu2", "bleu3", "self_bleu2", "self_bleu3", "nll_test"), 3) == ("bleu3", "self_bleu3")
    assert plane_axes(pts("cfg_valid", "unique", "novel"), 2) == ("cfg_valid", "unique")
    assert plane_axes(pts("nll_test"), 2) is None


def test_a_checkpoint_without_a_metrics_config_is_one_line(tmp_path, capsys):
    new, _, _ = _checkpoint(tmp_path, "new", ["data=oracle_toy"], seed=1)
    ckpt = torch.load(new, weights_only=True)
    del ckpt["config"]["metrics"]
    foreign = tmp_path / "foreign.ckpt"
    torch.save(ckpt, foreign)
    assert main([f"ckpts=[{foreign}]", "temperatures=[1.0]", "num_samples=32", "progress=false", "real=false",
                 f"out={tmp_path / 'a'}"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {foreign} has no metrics config: it was not written by textgan's train.py; evaluate a " \
                  "checkpoint of a textgan run\n"


def test_an_unquoted_sweep_job_path_is_one_line_naming_the_quoting(tmp_path, capsys):
    """Sweep job dirs are named by their overrides: unquoted inside `ckpts=[...]`, Hydra would read their `=` and `,`
    as its grammar; the tool says how to quote them instead, and the quoted form is read as one path."""
    job = tmp_path / "0_method=mle,seed=1" / "checkpoints"
    job.mkdir(parents=True)
    path, _, _ = _checkpoint(tmp_path, "a", ["data=oracle_toy"], seed=1)
    path.rename(job / "last.ckpt")
    assert main([f"ckpts=[{job / 'last.ckpt'}]", "progress=false", f"out={tmp_path / 'qd'}"]) == 2
    err = capsys.readouterr().err
    assert "must be quoted inside the list" in err and "ckpts=['PATH1','PATH2']" in err and err.count("\n") == 1
    assert main([f"ckpts=['{job / 'last.ckpt'}']", "temperatures=[1.0]", "num_samples=16", "real=false",
                 "progress=false", f"out={tmp_path / 'qd'}"]) == 0
    assert len(_rows(tmp_path / "qd" / "quality_diversity.csv")) == 1
