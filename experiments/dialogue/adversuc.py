"""AdverSuc (Li et al. 2017, sec. 4 "Adversarial Evaluation") of the dialogue checkpoints of experiments/dialogue/:
the fraction of each system's responses that a separately trained evaluator judges human. It is the one column
of results.md that the runs' own test pass (BLEU-2/4, distinct-n, length) does not give, since it needs an
evaluator trained against the MLE model's responses, never a training discriminator.

    python experiments/dialogue/adversuc.py MLE=<mle run>/checkpoints/last.ckpt \\
        Adver-Reinforce=<run>/checkpoints/last.ckpt Adver-REGS=<run>/checkpoints/last.ckpt \\
        [--test-pairs 1000] [--evaluator-pairs 3000] [--evaluator-epochs 3] [--beam-size 5] [--seed 12345]

The first checkpoint is the MLE model. A fresh `HierarchicalDiscriminator` (`textgan.metrics.adversuc`) learns
human vs that model's responses (the first half greedy, the second beam) to the first `--evaluator-pairs`
validation contexts; then every checkpoint answers the first `--test-pairs` test contexts greedily and with beam
search, and the table (AdverSuc of each, and of the human test responses: the ceiling) is printed as markdown.
Checkpoints are rebuilt weights-only (`textgan.cli.chat.Responder`); the data from the MLE checkpoint's stored plain
`data` config, only as textgan's `DialogueDataModule`.
"""

from __future__ import annotations

import argparse
import sys

import torch

from textgan.errors import UserError, run_with_one_line_errors

DATA_CLASS = "textgan.data.dialogue.DialogueDataModule"


def decode_all(method, contexts: torch.Tensor, decoding: str, beam_size: int, batch: int = 100) -> torch.Tensor:
    """Responses `[n, seq_len]` of a dialogue method to `contexts` `[n, context_len]`."""
    return torch.cat([method.respond(c, decoding, beam_size=beam_size) for c in contexts.split(batch)])


def parse_systems(specs: list[str]) -> list[tuple[str, str]]:
    """`["MLE=a.ckpt", ...]` -> [(label, path)]; one line for a spec without `LABEL=`."""
    systems = [tuple(s.split("=", 1)) for s in specs]
    if not systems or any(len(s) != 2 or not all(s) for s in systems):
        raise UserError("give LABEL=CHECKPOINT for each system, the MLE model first, e.g. MLE=runs/mle/"
                        "checkpoints/last.ckpt")
    return systems


def main(argv: list[str] | None = None) -> int:
    from textgan.cli.chat import Responder
    from textgan.data.dialogue import DialogueDataModule
    from textgan.metrics.adversuc import adversarial_success, train_evaluator

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("systems", nargs="+", metavar="LABEL=CHECKPOINT")
    parser.add_argument("--test-pairs", type=int, default=1000)
    parser.add_argument("--evaluator-pairs", type=int, default=3000)
    parser.add_argument("--evaluator-epochs", type=int, default=3)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args(argv)
    specs = parse_systems(args.systems)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)  # before the models are built: the evaluator's training draws from the same stream
    systems = [(label, Responder(path)) for label, path in specs]
    data = dict(systems[0][1].config["data"])
    if data.pop("_target_", None) != DATA_CLASS:
        raise UserError(f"{args.systems[0]} was not trained on data=dialogue ({DATA_CLASS})")
    dm = DialogueDataModule(**data)
    dm.setup()
    for label, responder in systems:
        dm.vocab.check_same(responder.vocab, f"{label} checkpoint")
    mle = systems[0][1].method
    val_c, val_h = dm.val_contexts_ids[: args.evaluator_pairs], dm.val_responses_ids[: args.evaluator_pairs]
    half = len(val_c) // 2
    machine = torch.cat([decode_all(mle, val_c[:half], "greedy", args.beam_size),
                         decode_all(mle, val_c[half:], "beam", args.beam_size)])
    evaluator, report = train_evaluator(len(dm.vocab), dm.vocab.pad_id, val_c, val_h, machine,
                                        epochs=args.evaluator_epochs, seed=args.seed)
    test_c, test_h = dm.test_contexts_ids[: args.test_pairs], dm.test_responses_ids[: args.test_pairs]
    rows = [("human (test responses)", adversarial_success(evaluator, test_c, test_h))]
    for label, responder in systems:
        for decoding in ("greedy", "beam"):
            ids = decode_all(responder.method, test_c, decoding, args.beam_size)
            name = f"{label} {'greedy' if decoding == 'greedy' else f'beam {args.beam_size}'}"
            rows.append((name, adversarial_success(evaluator, test_c, ids)))
    print(f"Evaluator: {report.num_train} training pairs of the first {len(val_c)} validation pairs; on "
          f"{report.num_holdout} held-out pairs accuracy {report.accuracy:.3f} (human recall "
          f"{report.human_recall:.3f}, machine recall {report.machine_recall:.3f}). First {len(test_c)} test pairs.")
    print("\n| system | AdverSuc |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(run_with_one_line_errors(main))
