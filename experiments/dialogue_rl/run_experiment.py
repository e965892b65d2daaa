"""The RL chatbot (Li et al. 2016) on DailyDialog: seq2seq (MLE, greedy and beam), MMI, RL and the adversarial
REGS model (Li et al. 2017) in one table: average simulated dialogue length, distinct-1/2 (the papers'
definition: distinct n-grams / generated tokens), BLEU-2, wall time, and five simulated dialogues per system.

Trains the runs of `config.yaml` through `run.py`: the forward and backward MLE models, the MMI phase of
`method=dialogue_rl` (stopped after its epoch: the MMI model), the same run resumed from that checkpoint into
the simulation phase (the RL model; its fixed scorers stay the MLE models), and Adver-REGS from the MLE
checkpoint. Then evaluates every checkpoint on DailyDialog test inputs and writes `results.md` and
`results.json` beside this script.

    python experiments/dialogue_rl/run_experiment.py            # everything (~25 CPU min)
    python experiments/dialogue_rl/run_experiment.py --report   # only re-evaluate the checkpoints in runs/
    python experiments/dialogue_rl/run_experiment.py --quick    # seconds, on chatterbot (checks the script)
    (finished runs are not trained again unless --rerun)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
# Li et al. 2016, OpenSubtitles, as quoted in textgan issue 14 (average number of simulated turns); not checked
# against the paper's table here
PAPER_LENGTH = {"seq2seq": 2.68, "MMI": 3.40, "RL": 4.48}
ORDER = ("mle", "backward", "mmi", "rl", "regs")


def _key(override: str) -> str:
    return override.lstrip("+").split("=", 1)[0]


def merge(base: list[str], extra: list[str]) -> list[str]:
    """`base` overrides with those of `extra` replacing the ones of the same key."""
    keys = {_key(o) for o in extra}
    return [o for o in base if _key(o) not in keys] + extra


def quick_config(cfg: dict) -> dict:
    """The same pipeline on chatterbot_en, 2 batches per epoch (debug=smoke: a few batches, CSV, CPU)."""
    common = [o for o in cfg["common"] if not o.startswith("data.")] + ["data.corpus=chatterbot_en",
                                                                          "debug=smoke"]
    runs = {}
    for name, over in cfg["runs"].items():
        if isinstance(over, dict):
            runs[name] = dict(over, overrides=merge(over["overrides"], ["trainer.limit_train_batches=2"]))
            continue
        over = merge(over, ["trainer.limit_train_batches=2"])
        if name in ("mle", "backward"):
            over = merge(over, ["method.epochs=1"])
        if name == "mmi":
            over = merge(over, ["method.mle_epochs=0", "method.rl_batch_size=8"])
        runs[name] = over
    ev = dict(cfg["evaluation"], test_pairs=16, sim_inputs=8, sim_max_turns=4, num_dialogues=2)
    return dict(cfg, common=common, runs=runs, evaluation=ev)


def command(name: str, cfg: dict, runs: Path) -> list[str]:
    spec = cfg["runs"][name]
    mle_ckpt = runs / "mle" / "checkpoints" / "last.ckpt"
    if isinstance(spec, dict):  # a resumed run: the other run's overrides, then its own
        base = command(spec["resume"], cfg, runs)[2:-2]
        ckpt = runs / spec["resume"] / "checkpoints" / "last.ckpt"
        over = merge(base, [*spec["overrides"], f"ckpt_path={runs / name / 'start.ckpt'}"])
        shutil.copyfile(ckpt, _mkdir(runs / name) / "start.ckpt")  # the resumed run must not write over it
    else:
        over = list(spec)
        if name in ("mmi", "regs"):
            over.append(f"method.pretrained_ckpt={mle_ckpt}")
        if name == "mmi":
            dull = ",".join(json.dumps(d, ensure_ascii=False) for d in cfg["dull_responses"])
            over += [f"method.backward_ckpt={runs / 'backward' / 'checkpoints' / 'last.ckpt'}",
                     f"method.dull_responses=[{dull}]"]
        over = merge(cfg["common"], over)
    return [sys.executable, "run.py", *over, f"seed={cfg['seed']}", f"hydra.run.dir={runs / name}"]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_one(name: str, cfg: dict, runs: Path) -> float:
    cmd = command(name, cfg, runs)
    print("running:", " ".join(cmd[1:]), flush=True)
    t0 = time.time()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(_mkdir(runs / name) / "train.log", "w") as log:
        subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - t0
    (runs / name / "wall_seconds.json").write_text(json.dumps({"wall_s": wall, "command": cmd[1:]}))
    return wall


SYSTEMS = (  # (label, run, decoding, runs whose training it needs)
    ("seq2seq (MLE) greedy", "mle", "greedy", ("mle",)),
    ("seq2seq (MLE) beam 5", "mle", "beam", ("mle",)),
    ("MMI (dialogue_rl phase 1) greedy", "mmi", "greedy", ("mle", "backward", "mmi")),
    ("RL (dialogue_rl phase 2) greedy", "rl", "greedy", ("mle", "backward", "mmi", "rl")),
    ("Adver-REGS (dialogue_seqgan) greedy", "regs", "greedy", ("mle", "regs")),
)


def evaluate(cfg: dict, runs: Path) -> dict:
    from hydra.utils import instantiate

    from textgan.chat import Responder
    from textgan.metrics.diversity import average_length, distinct_n_per_token
    from textgan.metrics.response_bleu import response_bleu
    from textgan.simulation import dialogue_length

    torch.set_num_threads(1)
    ev = cfg["evaluation"]
    walls = {n: json.loads((runs / n / "wall_seconds.json").read_text())["wall_s"] for n in ORDER}
    t_eval = time.time()
    responders = {n: Responder(runs / n / "checkpoints" / "last.ckpt") for n in ("mle", "mmi", "rl", "regs")}
    dm = instantiate(responders["mle"].config["data"])
    dm.setup()
    vocab = dm.vocab
    for r in responders.values():
        r.vocab.check_same(vocab, "checkpoint")
    test_c = dm.test_contexts_ids[: ev["test_pairs"]]
    refs = [[r] for r in dm.test_responses[: ev["test_pairs"]]]
    starts = dm.test_contexts_ids[: ev["sim_inputs"]]
    dull = [dm.tokenize_text(d) for d in cfg["dull_responses"]]
    settings = {"context_turns": dm.context_turns, "max_context_len": dm.max_context_len,
                "context_eos": dm.context_eos}
    rows, dialogues = [], {}
    human = [vocab.decode(r) for r in dm.test_responses_ids[: ev["test_pairs"]].tolist()]
    rows.append({"system": "human (test responses)", "distinct_1": distinct_n_per_token(human, 1),
                 "distinct_2": distinct_n_per_token(human, 2), "avg_len": average_length(human)})
    for label, run, decode, needs in SYSTEMS:
        method = responders[run].method
        torch.manual_seed(cfg["seed"])
        t0 = time.time()
        ids = torch.cat([method.respond(c, decode, beam_size=ev["beam_size"]) for c in test_c.split(100)])
        tokens = [vocab.decode(r) for r in ids.tolist()]
        decode_s = time.time() - t0
        t0 = time.time()
        turns = method.simulate_dialogues(starts, ev["sim_max_turns"], decode, beam_size=ev["beam_size"],
                                          **settings).turns
        sim_s = time.time() - t0
        texts = [[vocab.decode(row) for row in t.tolist()] for t in turns]
        per_dialogue = [list(d) for d in zip(*texts)]
        lengths = [dialogue_length(d, dull, ev["dull_similarity"], ev["repeat_similarity"])
                   for d in per_dialogue]
        rows.append({"system": label, "sim_length": sum(lengths) / len(lengths),
                     "distinct_1": distinct_n_per_token(tokens, 1), "distinct_2": distinct_n_per_token(tokens, 2),
                     "bleu2": response_bleu(tokens, refs, 2), "avg_len": average_length(tokens),
                     "train_s": sum(walls[n] for n in needs), "own_train_s": walls[run],
                     "decode_s": decode_s, "sim_s": sim_s})
        sep = vocab.separator
        dialogues[label] = [[sep.join(t) for t in d] + [f"(length {n})"]
                            for d, n in zip(per_dialogue[: ev["num_dialogues"]], lengths)]
    return {"rows": rows, "dialogues": dialogues, "walls": walls, "vocab": len(vocab),
            "num_train": len(dm.train_responses_ids), "n_test": len(test_c), "n_sim": len(starts),
            "signals": training_signals(runs), "eval_s": time.time() - t_eval}


def training_signals(runs: Path) -> dict[str, float]:
    """Means of the logged RL signals (the runs' metrics.csv)."""
    import csv

    out = {}
    for run, keys in (("mmi", ("train/mmi_reward", "train/prefix_len")),
                      ("rl", ("train/dialogue_return", "train/reward_r1", "train/reward_r2", "train/reward_r3",
                              "train/sim_turns"))):
        with open(runs / run / "csv" / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        for key in keys:
            vals = [float(r[key]) for r in rows if r.get(key)]
            if vals:
                out[f"{run} {key}: first / last / mean"] = (vals[0], vals[-1], sum(vals) / len(vals))
    return out


def fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def write_report(cfg: dict, res: dict, total_s: float, load: str, out_dir: Path = HERE, name: str = "") -> None:
    ev = cfg["evaluation"]
    lines = [
        "# The RL chatbot (Li et al. 2016) on DailyDialog, beside seq2seq, MMI and Adver-REGS",
        "",
        f"Written by `experiments/dialogue_rl/run_experiment.py` (config: `{cfg['config_file']}`). Hardware: "
        f"{os.cpu_count()}-core CPU shared with other jobs ({platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, 1 thread per process. Wall time: training runs "
        f"{sum(res['walls'].values()) / 60:.1f} min (sum of the runs below), evaluation {res['eval_s'] / 60:.1f} "
        f"min; load average (1, 5, 15 min) when the report was written: {load}.",
        "",
        "## Results",
        "",
        f"Simulated length: two copies of each model talk from the first {res['n_sim']} DailyDialog test "
        f"contexts for up to {ev['sim_max_turns']} turns (`textgan.simulation`, the system's own decoding); "
        "the length is the number of turns before the first turn that is empty, a dull response (Jaccard "
        f"similarity of content words >= {ev['dull_similarity']} with one of the 12 entries of `config.yaml`'s "
        "dull list) or a repeat of an earlier turn of the same agent (similarity >= "
        f"{ev['repeat_similarity']}). distinct-n: **the papers' definition**, distinct n-grams / generated "
        f"tokens (`distinct_n_per_token`), over the responses to the first {res['n_test']} test contexts; "
        "BLEU-2: mean sentence-level BLEU of each response against its own human response. Train time: the "
        "wall time of every run the system needs (MMI: MLE + backward + MMI; RL: those + the simulation "
        "phase; REGS: MLE + REGS), on this shared CPU.",
        "",
        "| system | simulated length | distinct-1 | distinct-2 | BLEU-2 | avg length | train (s) | "
        "decode + simulate (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in res["rows"]:
        run_s = r.get("decode_s", 0) + r.get("sim_s", 0) if "decode_s" in r else None
        lines.append(f"| {r['system']} | {fmt(r.get('sim_length'), 2)} | {fmt(r['distinct_1'])} | "
                     f"{fmt(r['distinct_2'])} | {fmt(r.get('bleu2'))} | {r['avg_len']:.2f} | "
                     f"{fmt(r.get('train_s'), 0)} | {fmt(run_s, 1)} |")
    lines += [
        "",
        "**The paper's figures are on a different corpus** (OpenSubtitles, models trained for days on GPUs) "
        "and a different length rule (turns until a dull response or two highly overlapping consecutive "
        "turns): average simulated length seq2seq "
        f"{PAPER_LENGTH['seq2seq']:.2f}, MMI {PAPER_LENGTH['MMI']:.2f}, RL {PAPER_LENGTH['RL']:.2f}, as quoted in "
        "textgan issue 14. These figures were **not checked** against the paper's table here (the paper was not "
        "readable from this machine); compare our rows with each other, not with them.",
        "",
        "Training signals (first / last / mean of the logged values; the dialogue return sums the rewards of "
        "all turns, whose number grows during the phase, so its first and last values are not comparable):",
        "",
    ]
    for k, (first, last, mean) in res["signals"].items():
        lines.append(f"- {k}: {first:.3f} / {last:.3f} / {mean:.3f}")
    lines += ["", "Run wall times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in res["walls"].items()), ""]
    shortened = " ".join(cfg["shortened"].split()).format(vocab=res["vocab"], train=res["num_train"])
    lines += ["## What was shortened (and why)", "", shortened, ""]
    lines += ["## Five simulated dialogues per system", ""]
    for label, ds in res["dialogues"].items():
        lines += [f"**{label}**", ""]
        for d in ds:
            lines.append("- " + " → ".join(f"`{t}`" if i == 0 else t for i, t in enumerate(d[:-1]))
                         + f" {d[-1]}")
        lines.append("")
    lines += ["## Commands", "", "```", "python experiments/dialogue_rl/run_experiment.py"]
    for n in ORDER:
        cmd = json.loads((RUNS / n / "wall_seconds.json").read_text())["command"]
        lines.append(" ".join(cmd).replace(str(RUNS), "<runs>"))
    lines += ["```", ""]
    suffix = f"_{name}" if name else ""
    (out_dir / f"results{suffix}.md").write_text("\n".join(lines), encoding="utf-8")
    (out_dir / f"results{suffix}.json").write_text(json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8")


RUNS = HERE / "runs"


def main() -> None:
    global RUNS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="only evaluate the checkpoints in runs/")
    parser.add_argument("--rerun", action="store_true", help="train every run again")
    parser.add_argument("--quick", action="store_true", help="toy sizes on chatterbot (checks the script)")
    parser.add_argument("--config", default="config.yaml",
                        help="config_<name>.yaml: runs in runs/<name>/, report in results_<name>.md")
    args = parser.parse_args()
    cfg = yaml.safe_load((HERE / args.config).read_text(encoding="utf-8"))
    cfg["config_file"] = args.config
    name = Path(args.config).stem.removeprefix("config").lstrip("_")
    if name:
        RUNS = HERE / "runs" / name
    if args.quick:
        cfg, RUNS = quick_config(cfg), Path(tempfile.mkdtemp(prefix="dialogue_rl_quick_"))
    t0 = time.time()
    if not args.report:
        for run in ORDER:
            if args.rerun or not (RUNS / run / "wall_seconds.json").exists():
                run_one(run, cfg, RUNS)
    res = evaluate(cfg, RUNS)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    res["total_s"] = time.time() - t0
    if args.quick:  # the report goes to the temporary runs folder
        write_report(cfg, res, res["total_s"], load, RUNS)
        print((RUNS / "results.md").read_text())
        return
    write_report(cfg, res, res["total_s"], load, HERE, name)
    print((HERE / f"results{'_' + name if name else ''}.md").read_text())


if __name__ == "__main__":
    main()
