"""Benchmark: textgan's BLEU-2..5 and Self-BLEU-2..5 against nltk, values and speed, side by side in one run.

Data: poem-like random sequences (20 characters drawn from a Zipf-like distribution over 3,000 CJK
characters), 1,000 hypotheses x 10,000 references (Self-BLEU: the 1,000 hypotheses among themselves).

nltk's `sentence_bleu` rebuilds the clipping counts from all references for every hypothesis (its cost grows
with hypotheses x references), so running it on all 1,000 hypotheses for 4 orders would dominate the run.
nltk is therefore run on the first `--nltk-hyps` hypotheses (and `--nltk-self`
samples for Self-BLEU, each still against all 999 others); our per-sentence scores of exactly those
hypotheses are compared with nltk's (max |difference|), and the speed ratio is nltk's time per hypothesis
x 1,000 / our time for all 1,000 hypotheses (ours always runs on the full set).

    python experiments/bench_metrics.py [--json out.json] [--nltk-hyps 20] [--nltk-self 50]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # noqa: E402

from textgan.metrics.bleu import bleu_scores, self_bleu_scores  # noqa: E402

NS = (2, 3, 4, 5)


def poem_like(rng: random.Random, count: int, length: int = 20, vocab: int = 3000) -> list[list[str]]:
    chars = [chr(0x4E00 + i) for i in range(vocab)]
    weights = [1 / (i + 1) for i in range(vocab)]
    return [rng.choices(chars, weights, k=length) for _ in range(count)]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hyps", type=int, default=1000)
    parser.add_argument("--refs", type=int, default=10_000)
    parser.add_argument("--nltk-hyps", type=int, default=20, help="hypotheses scored by nltk for BLEU")
    parser.add_argument("--nltk-self", type=int, default=50, help="samples scored by nltk for Self-BLEU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=str, default=None, help="also write the results to this file")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    hyps, refs = poem_like(rng, args.hyps), poem_like(rng, args.refs)
    smooth = SmoothingFunction().method1

    t = time.perf_counter()
    ours = bleu_scores(hyps, refs, NS, average=False)
    ours_bleu_s = time.perf_counter() - t
    t = time.perf_counter()
    ours_self = self_bleu_scores(hyps, NS, average=False)
    ours_self_s = time.perf_counter() - t

    t = time.perf_counter()
    nltk_bleu = {n: [sentence_bleu(refs, h, (1 / n,) * n, smoothing_function=smooth)
                     for h in hyps[: args.nltk_hyps]] for n in NS}
    nltk_bleu_s = time.perf_counter() - t
    t = time.perf_counter()
    k = args.nltk_self
    nltk_self = {n: [sentence_bleu(hyps[:i] + hyps[i + 1:], hyps[i], (1 / n,) * n, smoothing_function=smooth)
                     for i in range(k)] for n in NS}
    nltk_self_s = time.perf_counter() - t

    result = {
        "hypotheses": args.hyps, "references": args.refs, "nltk_hypotheses": args.nltk_hyps,
        "nltk_self_samples": k, "seed": args.seed,
        "hardware": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPU cores "
                    "(shared), Python " + platform.python_version(),
        "bleu": {n: sum(v) / len(v) for n, v in ours.items()},
        "self_bleu": {n: sum(v) / len(v) for n, v in ours_self.items()},
        "max_abs_diff_bleu": max(abs(a - b) for n in NS for a, b in zip(ours[n], nltk_bleu[n])),
        "max_abs_diff_self_bleu": max(abs(a - b) for n in NS for a, b in zip(ours_self[n], nltk_self[n])),
        "ours_bleu_seconds_all": ours_bleu_s, "ours_self_bleu_seconds_all": ours_self_s,
        "nltk_bleu_seconds_subset": nltk_bleu_s, "nltk_self_bleu_seconds_subset": nltk_self_s,
    }
    result["nltk_bleu_seconds_all_extrapolated"] = nltk_bleu_s / args.nltk_hyps * args.hyps
    result["nltk_self_bleu_seconds_all_extrapolated"] = nltk_self_s / k * args.hyps
    result["speedup_bleu"] = result["nltk_bleu_seconds_all_extrapolated"] / ours_bleu_s
    result["speedup_self_bleu"] = result["nltk_self_bleu_seconds_all_extrapolated"] / ours_self_s

    print(f"BLEU-2..5 of {args.hyps} hypotheses x {args.refs} references, "
          f"Self-BLEU-2..5 of {args.hyps} samples")
    print(f"  ours BLEU   {result['bleu']}")
    print(f"  ours Self   {result['self_bleu']}")
    print(f"  max |ours - nltk| on the nltk subset: BLEU {result['max_abs_diff_bleu']:.3g}, "
          f"Self-BLEU {result['max_abs_diff_self_bleu']:.3g}")
    print(f"  BLEU      ours {ours_bleu_s:.2f} s (all {args.hyps}), "
          f"nltk {nltk_bleu_s:.1f} s for {args.nltk_hyps} -> "
          f"{result['nltk_bleu_seconds_all_extrapolated']:.0f} s for all: x{result['speedup_bleu']:.0f}")
    print(f"  Self-BLEU ours {ours_self_s:.2f} s (all {args.hyps}), nltk {nltk_self_s:.1f} s for {k} -> "
          f"{result['nltk_self_bleu_seconds_all_extrapolated']:.0f} s for all: "
          f"x{result['speedup_self_bleu']:.0f}")
    print(f"  hardware: {result['hardware']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    ok = result["max_abs_diff_bleu"] <= 1e-9 and result["max_abs_diff_self_bleu"] <= 1e-9
    print("values equal to 1e-9:", ok)
    return result


if __name__ == "__main__":
    main()
