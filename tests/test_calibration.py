"""`textgan.cli.calibration`: the floor (uniform generator), the matched-diversity baseline row, and the calibrated
table a sweep report writes, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from test_evaluate import _checkpoint

from textgan.cli.calibration import calibration_rows, emittable_tokens, matched_point, uniform_samples
from textgan.cli.evaluate import Point
from textgan.data.vocab import Vocabulary
from textgan.metrics.nll import sequence_nll
from textgan.models.lstm import LSTMGenerator


def _curve(label: str, ckpt: str, triples) -> list[Point]:
    return [Point(label, ckpt, t, 10, {"nll_oracle": q, "nll_test": d}) for t, q, d in triples]


def test_matched_point_interpolates_between_the_neighbouring_temperatures():
    curve = _curve("MLE", "a", [(1.0, 9.0, 8.0), (0.5, 8.0, 9.0), (1.5, 10.0, 7.5)])  # any order
    # NLL-test 8.8 lies between T = 0.5 (9.0) and T = 1 (8.0): 20 % of the way to T = 1
    t, q = matched_point(curve, 8.8, "nll_test", "nll_oracle")
    assert t == pytest.approx(0.6) and q == pytest.approx(8.2)
    t, q = matched_point(curve, 7.75, "nll_test", "nll_oracle")
    assert t == pytest.approx(1.25) and q == pytest.approx(9.5)
    assert matched_point(curve, 9.5, "nll_test", "nll_oracle") is None  # outside the swept temperatures


def test_uniform_generator_emits_every_token_but_pad_and_bos_and_pads_after_eos():
    vocab = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"])
    assert emittable_tokens(vocab) == [2, 3, 4, 5, 6]
    tokens = uniform_samples(vocab, 4000, 6, seed=0)
    assert set(tokens.unique().tolist()) <= {0, 2, 3, 4, 5, 6}
    for row in tokens.tolist():
        if 2 in row:
            assert all(t == 0 for t in row[row.index(2) + 1:])  # <pad> after the first <eos>
        else:
            assert 0 not in row
    first = torch.bincount(tokens[:, 0], minlength=7).float() / len(tokens)
    assert torch.allclose(first[2:], torch.full((5,), 0.2), atol=0.03) and first[:2].sum() == 0
    assert torch.equal(uniform_samples(vocab, 10, 6, seed=3), uniform_samples(vocab, 10, 6, seed=3))


def test_uniform_floor_nll_is_the_nll_of_a_model_uniform_over_emittable_tokens():
    vocab = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"])
    gen = LSTMGenerator(len(vocab), 4, 4, pad_id=vocab.pad_id, eos_id=vocab.eos_id)
    with torch.no_grad():  # logits: 0 for every emittable token, -inf-like for <pad> and <bos>
        gen.output.weight.zero_()
        gen.output.bias.zero_()
        gen.output.bias[[vocab.pad_id, vocab.bos_id]] = -1e9
    test = torch.tensor([[4, 5, 6, 2, 0], [6, 6, 6, 6, 2]])
    assert sequence_nll(gen, test, vocab.pad_id) == pytest.approx(math.log(len(emittable_tokens(vocab))), rel=1e-6)


def test_calibration_rows_hand_computed():
    real = Point("oracle (training data)", "", None, 10, {"nll_oracle": 5.75, "nll_test": 5.76})
    points = [real,
              *_curve("MLE", "m1", [(0.5, 8.0, 9.0), (1.0, 9.0, 8.0)]),
              *_curve("MLE", "m2", [(0.5, 8.5, 9.5), (1.0, 9.5, 8.5)]),
              *_curve("GAN", "g1", [(1.0, 8.6, 8.8)]), *_curve("GAN", "g2", [(1.0, 9.0, 9.0)])]
    rows, axes = calibration_rows(points, "MLE")
    assert axes == ("nll_oracle", "nll_test")
    assert [r.name for r in rows] == ["oracle (training data)", "MLE, T = 1", "GAN, T = 1",
                                      "MLE at GAN's nll_test"]
    mle, gan, matched = rows[1], rows[2], rows[3]
    assert mle.metrics["nll_oracle"] == pytest.approx((9.25, 0.5 / math.sqrt(2), 2))
    assert gan.metrics["nll_test"] == pytest.approx((8.9, 0.2 / math.sqrt(2), 2))
    # run 1: NLL-test 8.8 -> T 0.6, NLL-oracle 8.2; run 2: 9.0 -> T 0.75, 9.0
    assert matched.temperature == pytest.approx((0.675, 0.15 / math.sqrt(2), 2))
    assert matched.metrics["nll_oracle"] == pytest.approx((8.6, 0.8 / math.sqrt(2), 2))
    assert matched.metrics["nll_test"] == pytest.approx(gan.metrics["nll_test"])
    with pytest.raises(ValueError, match="baseline 'LM' is none of the curves: MLE, GAN"):
        calibration_rows(points, "LM")


def test_report_writes_the_calibrated_table_of_a_sweep(tmp_path):
    from textgan.cli.report import main as report_main

    sweep = tmp_path / "multirun" / "x"
    for num, seed in enumerate((1, 2)):
        job = sweep / str(num)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- method=seqgan\n- seed={seed}\n")
        (job / "csv").mkdir()
        (job / "csv" / "metrics.csv").write_text("epoch,val/epoch,val/nll_oracle\n0,0,9.0\n")
        (job / "checkpoints").mkdir()
        for stem, model_seed in (("end_g_pretrain", 10 + num), ("last", 20 + num)):
            path, _, dm = _checkpoint(tmp_path, f"{stem}{num}", ["data=oracle_toy"], seed=model_seed)
            path.rename(job / "checkpoints" / f"{stem}.ckpt")
    paper = tmp_path / "paper.yaml"
    paper.write_text("metric: NLL-oracle\nrows: {MLE: 9.038, SeqGAN: 8.736}\n")
    assert report_main([str(sweep), "--quality-diversity", "0.05,1.0,20", "--qd-samples", "16", "--curves",
                        "end_g_pretrain:MLE", "last:SeqGAN", "--baseline", "MLE", "--paper", str(paper)]) == 0
    table = (sweep / "report" / "calibration" / "calibration.md").read_text()
    lines = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    assert list(lines) == ["oracle (training data)", "uniform random tokens", "MLE, T = 1", "SeqGAN, T = 1",
                           "MLE at SeqGAN's nll_test"]
    assert f"{math.log(len(dm.vocab)):.3f}" in lines["uniform random tokens"]
    assert lines["MLE, T = 1"].endswith("| 2 | 9.038 |") and lines["SeqGAN, T = 1"].endswith("| 2 | 8.736 |")
    assert "calibration.csv" in (sweep / "report" / "report.md").read_text()


def test_report_refuses_bad_calibration_options_in_one_line_before_any_work(tmp_path, capsys):
    from textgan.cli.report import main as report_main

    sweep = tmp_path / "multirun" / "x"
    (sweep / "0" / "csv").mkdir(parents=True)
    (sweep / "0" / "csv" / "metrics.csv").write_text("epoch,val/epoch,val/nll_oracle\n0,0,9.0\n")
    bad_paper = tmp_path / "paper.yaml"
    bad_paper.write_text("rows: {MLE: high}\n")
    cases = [
        (["--baseline", "MLE"], "need --quality-diversity"),
        (["--quality-diversity", "1.0", "--curves", "end_g_pretrain"], "write STEM:NAME"),
        (["--quality-diversity", "1.0", "--paper", str(tmp_path / "missing.yaml")], "cannot read it"),
        (["--quality-diversity", "1.0", "--paper", str(bad_paper)], "with numbers as values"),
    ]
    for args, message in cases:
        assert report_main([str(sweep), *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (args, err)
        assert not (sweep / "report").exists()  # refused before any output was written
