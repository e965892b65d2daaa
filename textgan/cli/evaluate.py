"""Quality–diversity curves: checkpoints x sampling temperatures -> a CSV and one plane (Caccia et al., "Language
GANs Falling Short", ICLR 2020).

    textgan-evaluate ckpts=[A.ckpt,B.ckpt] temperatures=0.5:1.5:0.05 [labels=[mle,seqgan]]
                     [num_samples=10000] [seed=0] [device=auto] [batch_size=256] [bleu_n=2]
                     [real=true] [out=DIR] [progress=true] [data.KEY=VALUE ...]

A `@hydra.main` app over `conf/evaluate.yaml` (`textgan.cli.common`, like generate and chat): `--help`,
`--cfg job`, and `-m` (e.g. `-m seed=0,1`: one output folder per job under `outputs/evaluate/<time>/`). The
pre-Hydra spellings get one line naming the new one (`ckpt=A ckpt=B` -> `ckpts=[A,B]`). `main(argv)` runs the
same command line in-process (tests, scripts).

A generator's temperature T trades quality for diversity: sampling from `softmax(logits / T)` with T < 1
concentrates on likely sequences, T > 1 spreads out. One temperature gives one point; a GAN improves on MLE only
where its curve lies beyond MLE's (Caccia et al. section 4). For each checkpoint and each T, on the data the
checkpoint was trained on:

- every sample measure of training's evaluation (the metric objects of the checkpoint's `metrics:` config,
  `TextGANModule.sample_metrics`, the same code as `val/*`) on `num_samples` samples drawn at T: NLL-oracle
  (oracle data: quality), BLEU-n against the test split (quality) and Self-BLEU-n among the samples (diversity)
  on corpora with references, the grammar's measures on `data=cfg`;
- NLL-test (`textgan.metrics.nll.sequence_nll` with `temperature=T`): the held-out data's mean per-token NLL under
  the tempered model `log_softmax(logits / T)` (diversity / coverage: a model that drops modes scores badly).

Plane: NLL-oracle (x) vs NLL-test (y) when the data has an oracle, else BLEU-`bleu_n` (x) vs Self-BLEU-`bleu_n`
(y), else (`data=cfg`) the grammatical fraction (x) vs the distinct fraction of the grammatical samples (y).
`real=true` adds the data's own point: `num_samples` training sequences scored like a model's samples (for the
oracle, its NLL-test is the oracle's own NLL of the test split). Writes `DIR/quality_diversity.csv` (one row
per point) and `DIR/quality_diversity.png` (one curve per checkpoint, points labelled by temperature);
`DIR` defaults to `outputs/evaluate/<date_time>`. Every point is seeded with `seed` (the same random numbers at
every temperature, so the curves are smooth), sampling and scoring run batched on `device`.

The method is rebuilt by `load_method` (weights-only); the datamodule from the checkpoint's stored `data` config,
by allow-list: only the unconditional data classes `conf/data/` builds (`data_classes`), with plain values, never
an arbitrary `_target_`. `data.KEY=VALUE` overrides a stored value (e.g. `data.root=` when the corpus moved).
"""

from __future__ import annotations

import csv
import datetime
import inspect
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from textgan.cli.common import VALUE_FLAGS, check_no_option_flags, is_multirun, job_output, run_tool
from textgan.config.compose import CONF_DIR
from textgan.config.registry import import_target, targets
from textgan.errors import ConfigError, UserError, run_with_one_line_errors
from textgan.methods.base import TextGANModule
from textgan.metrics.build import build_metrics
from textgan.metrics.nll import sequence_nll
from textgan.runs.checkpoint import CheckpointError, load_method

# data settings that do not change what is evaluated (checkpoints differing only in these share one plane)
DATA_KEYS_IGNORED = ("batch_size", "num_workers", "progress", "root", "raw_dir", "cache_dir", "max_train_examples")

CONFIG = "evaluate"  # conf/evaluate.yaml: the options and their defaults
DEFAULTS: dict = {k: v for k, v in yaml.safe_load((CONF_DIR / f"{CONFIG}.yaml").read_text(encoding="utf-8")).items()
                  if k not in ("defaults", "hydra")}
RENAMED = {"ckpt": "ckpts", "label": "labels"}  # the keys of the pre-Hydra command line (repeated words)
POSITIVE_INTS, BOOLS = ("num_samples", "batch_size", "bleu_n"), ("real", "progress")
CSV_NAME, PNG_NAME = "quality_diversity.csv", "quality_diversity.png"


class EvaluateError(UserError, ValueError):
    """A one-line problem with the command line or a checkpoint."""


# ------------------------------------------------------------------------------------------------ arguments
def parse_temperatures(text: str | float | list) -> list[float]:
    """`"0.5:1.5:0.25"` -> [0.5, 0.75, 1.0, 1.25, 1.5] (stop included); `"0.7,1.0"` or `[0.7, 1.0]` -> [0.7, 1.0];
    each > 0."""
    if isinstance(text, (list, tuple)):  # temperatures=[0.7,1.0] on the command line
        text = ",".join(str(t) for t in text)
    text = str(text).strip().strip("[]")
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if not step > 0 or stop < start:
                raise EvaluateError(f"temperatures={text}: need start <= stop and a step > 0")
            count = math.floor((stop - start) / step + 1e-9) + 1
            values = [round(start + i * step, 10) for i in range(count)]
        else:
            values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as ex:
        if isinstance(ex, EvaluateError):
            raise
        raise EvaluateError(f"temperatures={text}: write start:stop:step (e.g. 0.5:1.5:0.05) or a list "
                            "(e.g. [0.7,1.0,1.3])") from None
    if not values or not all(t > 0 for t in values):
        raise EvaluateError(f"temperatures={text}: every temperature must be > 0 (T -> 0 is greedy decoding, "
                            "which has no NLL-test)")
    return values


def check_command_line(argv: list[str], multirun: bool = False) -> list[str]:
    """The Hydra overrides of a command line, with one-line errors for unknown keys and the old spellings
    (`ckpt=A ckpt=B` is now `ckpts=[A,B]`, `temperatures=0.7,1.0` outside `-m` is `temperatures=[0.7,1.0]`).
    `data.KEY=VALUE` becomes `+data.KEY=VALUE`: Hydra adds a key to the empty `data` node only with `+`."""
    check_no_option_flags(argv, list(DEFAULTS), EvaluateError)
    overrides, old, skip = [], {}, False
    for arg in argv:
        if skip or arg.startswith("-"):
            skip = arg in VALUE_FLAGS
            overrides.append(arg)
            continue
        key, eq, value = arg.partition("=")
        bare = key.lstrip("+~")
        if bare.startswith(("hydra.", "hydra/")):
            overrides.append(arg)
        elif bare in RENAMED:
            old.setdefault(bare, []).append(value)
        elif bare.startswith("data.") and eq:
            overrides.append(arg if key.startswith("+") else f"+{arg}")
        elif not eq or bare not in DEFAULTS:
            raise EvaluateError(f"unknown option {bare!r}; valid: {', '.join(DEFAULTS)}, data.KEY")
        elif bare in ("ckpts", "labels") and "=" in value and not any(q in value for q in "'\""):
            # a sweep's job dirs are named by their overrides (`0_method=mle,seed=1`); unquoted, Hydra's grammar
            # reads their `=` and `,` as its own and answers with a multi-line parse error
            raise EvaluateError(f"{bare}={value}: a path holding '=' or ',' (a sweep's job dir) must be quoted "
                                f"inside the list: \"{bare}=['PATH1','PATH2']\"")
        elif bare == "temperatures" and not multirun and "," in value and not value.lstrip().startswith("["):
            raise EvaluateError(f"temperatures={value}: write a list as temperatures=[{value}] (or sweep it, one "
                                "job per value, with -m)")
        else:
            overrides.append(arg)
    for key, values in old.items():
        raise EvaluateError(f"{key}= is now {RENAMED[key]}= with a list: {RENAMED[key]}=[{','.join(values)}]")
    return overrides


def check_args(args: dict) -> dict:
    """The composed options (`conf/evaluate.yaml` + overrides), checked before any checkpoint is read; `ckpts`,
    `labels` as lists and `temperatures` as a list of floats."""
    for key in ("ckpts", "labels"):  # a single value is a list of one
        args[key] = [str(v) for v in args[key]] if isinstance(args[key], list) else [str(args[key])]
    if not args["ckpts"]:
        raise EvaluateError("ckpts=[PATH,...] is required: one checkpoint per curve, e.g. "
                            "ckpts=[runs/mle/checkpoints/last.ckpt,runs/seqgan/checkpoints/last.ckpt]")
    if args["labels"] and len(args["labels"]) != len(args["ckpts"]):
        raise EvaluateError(f"{len(args['labels'])} label(s) for {len(args['ckpts'])} ckpt(s): give one per ckpt "
                            "or none")
    for key in (*POSITIVE_INTS, "seed"):
        if isinstance(args[key], bool) or not isinstance(args[key], int):
            raise EvaluateError(f"{key}={args[key]}: must be an integer")
    for key in POSITIVE_INTS:
        if args[key] < 1:
            raise EvaluateError(f"{key} must be a positive integer, got {args[key]}")
    for key in BOOLS:
        if not isinstance(args[key], bool):
            raise EvaluateError(f"{key}={args[key]}: write true or false")
    if args["device"] not in ("auto", "cpu", "cuda"):
        raise EvaluateError(f"device={args['device']}: choose one of auto, cpu, cuda")
    if not isinstance(args["data"], dict):
        raise EvaluateError(f"data={args['data']}: give single settings, data.KEY=VALUE")
    args["temperatures"] = parse_temperatures(args["temperatures"])
    return args


# ------------------------------------------------------------------------------------------------ data
def data_classes() -> dict[str, type]:
    """{`_target_`: class} of the data `conf/data/` builds that gives unconditional sequences (not pairs)."""
    classes = {target: import_target(target) for target in sorted(targets("data"))}
    return {t: cls for t, cls in classes.items() if getattr(cls, "provides_data", None) == "sequences"}


def build_datamodule(data_cfg: dict, overrides: dict | None = None):
    """The datamodule of a checkpoint's stored `data` config (a plain dict with `_target_`), set up.

    Only the classes of `data_classes()` are built, from plain values (no nested `_target_`), with the keys of
    their constructor; `overrides` replace stored values."""
    cfg = {**data_cfg, **(overrides or {})}
    target = cfg.pop("_target_", None)
    classes = data_classes()
    if target not in classes:
        raise EvaluateError(f"data._target_={target!r} is not one of textgan's unconditional data classes "
                            f"({', '.join(c.__name__ for c in classes.values())}); dialogue checkpoints "
                            "have no quality-diversity plane here")
    if _has_target(cfg):
        raise EvaluateError("the stored data config has a nested _target_: refused (only plain values are read)")
    cls = classes[target]
    name = cls.__name__
    params = inspect.signature(cls.__init__).parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [k for k in (overrides or {}) if k not in params and not takes_kwargs]
    if unknown:
        raise EvaluateError(f"data.{unknown[0]}: {name} has no such setting")
    try:
        dm = cls(**cfg)
        dm.setup("test")
    except (ValueError, OSError, TypeError) as ex:
        raise EvaluateError(f"cannot rebuild the checkpoint's data ({name}): {str(ex).splitlines()[0]}") from None
    return dm


def _has_target(value) -> bool:
    if isinstance(value, dict):
        return "_target_" in value or any(_has_target(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_target(v) for v in value)
    return False


def data_signature(data_cfg: dict) -> dict:
    """What decides the evaluation's data: the config without `DATA_KEYS_IGNORED`."""
    return {k: v for k, v in data_cfg.items() if k not in DATA_KEYS_IGNORED}


# ------------------------------------------------------------------------------------------------ measures
@dataclass
class Point:
    """One point of the plane: a curve `label`, its `temperature` (None for the real data) and the measures."""

    label: str
    checkpoint: str
    temperature: float | None
    num_samples: int
    metrics: dict[str, float] = field(default_factory=dict)


def real_data_point(method: TextGANModule, dm, num_samples: int, seed: int, batch_size: int) -> Point:
    """The data's own point: `num_samples` training sequences (a seeded random subset) scored by the same
    sample measures as a model's samples; NLL-test under the oracle when the data has one."""
    gen = torch.Generator().manual_seed(seed)
    tokens = dm.train_tokens
    subset = tokens[torch.randperm(len(tokens), generator=gen)[:num_samples]]
    metrics = TextGANModule.sample_metrics(method, subset.to(method.device))
    oracle = getattr(dm, "oracle", None)
    if oracle is not None:
        oracle.to(method.device)
        metrics["nll_test"] = sequence_nll(oracle, dm.test_tokens.to(method.device), None, batch_size)
    name = "oracle (training data)" if oracle is not None else "real data (training split)"
    return Point(name, "", None, len(subset), metrics)


def sampling_temperature_supported(method: TextGANModule) -> bool:
    return "temperature" in inspect.signature(method.generator.sample).parameters


@torch.no_grad()
def evaluate_point(method: TextGANModule, dm, temperature: float, num_samples: int, seed: int,
                   batch_size: int) -> dict[str, float]:
    """The measures of `method`'s generator at one sampling `temperature` (module docstring), seeded."""
    torch.manual_seed(seed)
    kwargs = {"temperature": temperature} if sampling_temperature_supported(method) else {}
    samples = method.generate(num_samples, **kwargs)
    metrics = TextGANModule.sample_metrics(method, samples)
    if hasattr(method.generator, "log_probs"):
        test = dm.test_tokens.to(method.device)
        metrics["nll_test"] = sequence_nll(method.generator, test, method.vocab.pad_id, batch_size, temperature)
    return metrics


def plane_axes(points: list[Point], bleu_n: int) -> tuple[str, str] | None:
    """(x, y) metric names of the plane, from what the points measured; None when neither pair exists."""
    measured = set().union(*(p.metrics for p in points)) if points else set()
    for pair in (("nll_oracle", "nll_test"), (f"bleu{bleu_n}", f"self_bleu{bleu_n}"), ("cfg_valid", "unique")):
        if set(pair) <= measured:
            return pair
    return None


AXIS_TEXT = {
    "nll_oracle": "NLL-oracle (quality; lower is better)",
    "nll_test": "NLL-test (diversity / coverage; lower is better)",
    "bleu": "BLEU-{n} vs test split (quality; higher is better)",
    "self_bleu": "Self-BLEU-{n} (diversity; lower is better)",
    "cfg_valid": "grammatical fraction (quality; higher is better)",
    "unique": "distinct / grammatical (diversity; higher is better)",
}


def _axis_text(name: str) -> str:
    if name in AXIS_TEXT:
        return AXIS_TEXT[name]
    base = name.rstrip("0123456789")
    return AXIS_TEXT.get(base, name).format(n=name[len(base):])


# ------------------------------------------------------------------------------------------------ outputs
def write_csv(points: list[Point], path: Path) -> Path:
    """One row per point: label, checkpoint, temperature, num_samples, then every measured metric (sorted)."""
    metrics = sorted(set().union(*(p.metrics for p in points)))
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "checkpoint", "temperature", "num_samples", *metrics])
        for p in points:
            temp = "" if p.temperature is None else f"{p.temperature:g}"
            writer.writerow([p.label, p.checkpoint, temp, p.num_samples,
                             *(repr(p.metrics[m]) if m in p.metrics else "" for m in metrics)])
    os.replace(tmp, path)  # atomic: never half a file
    return path


def read_csv(path: Path) -> list[Point]:
    """The points of a CSV written by `write_csv`."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fixed = ("label", "checkpoint", "temperature", "num_samples")
    return [Point(r["label"], r["checkpoint"], float(r["temperature"]) if r["temperature"] else None,
                  int(r["num_samples"]), {k: float(v) for k, v in r.items() if k not in fixed and v != ""})
            for r in rows]


def plot_plane(points: list[Point], axes: tuple[str, str], path: Path, title: str = "") -> Path:
    """One curve per label (points in temperature order, each labelled `T=...`; T = 1 drawn larger), the real
    data's point as a star."""
    try:
        import matplotlib
    except ImportError:  # the report extra: the core install trains without it
        from textgan.errors import UserError

        raise UserError("the plot needs matplotlib, which is not installed; pip install 'textgan[report]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_name, y_name = axes
    fig, ax = plt.subplots(figsize=(7, 5))
    curves: dict[str, list[Point]] = {}
    for p in points:
        if x_name in p.metrics and y_name in p.metrics:
            curves.setdefault(p.label, []).append(p)
    for label, members in curves.items():
        real = [p for p in members if p.temperature is None]
        tempered = sorted((p for p in members if p.temperature is not None), key=lambda p: p.temperature)
        if tempered:
            xs, ys = [p.metrics[x_name] for p in tempered], [p.metrics[y_name] for p in tempered]
            (line,) = ax.plot(xs, ys, marker="o", markersize=3, label=label)
            every = max(1, math.ceil(len(tempered) / 11))  # at most ~11 labels per curve stay readable
            for i, p in enumerate(tempered):
                at_one = abs(p.temperature - 1.0) < 1e-9
                if at_one:
                    ax.plot(xs[i], ys[i], marker="o", markersize=7, color=line.get_color())
                if at_one or i % every == 0 or i == len(tempered) - 1:
                    ax.annotate(f"{p.temperature:g}", (xs[i], ys[i]), textcoords="offset points", xytext=(4, 3),
                                fontsize=7, color=line.get_color())
        for p in real:
            ax.plot(p.metrics[x_name], p.metrics[y_name], marker="*", markersize=14, color="black",
                    linestyle="none", label=label)
    ax.set_xlabel(_axis_text(x_name))
    ax.set_ylabel(_axis_text(y_name))
    ax.set_title(title or "quality–diversity (labels: sampling temperature; large dot: T = 1)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------------------------ main
def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise EvaluateError("device=cuda but no CUDA device is available; use device=cpu or device=auto")
    return name


def _stored_data_config(path: str, method: TextGANModule) -> dict:
    data = (getattr(method, "run_config", None) or {}).get("data")
    if not isinstance(data, dict):
        raise EvaluateError(f"{path} has no stored data config: it was not written by textgan's train.py")
    return data


def load_checkpoints(paths: list[str], device: str) -> list[tuple[str, TextGANModule, dict]]:
    """(path, method in eval mode on `device`, stored data config) of each checkpoint; one-line errors."""
    loaded = []
    for path in paths:
        if not Path(path).is_file():
            raise EvaluateError(f"ckpts: {path}: no such file")
        try:
            method = load_method(path, device)
        except CheckpointError as ex:
            raise EvaluateError(str(ex)) from None
        data_cfg = _stored_data_config(path, method)
        if getattr(method, "conditional", False) or not hasattr(method, "generate"):
            raise EvaluateError(f"{path}: a conditional (dialogue) method has no quality-diversity plane here")
        loaded.append((str(path), method, data_cfg))
    return loaded


def shared_datamodule(loaded: list[tuple[str, TextGANModule, dict]], overrides: dict | None = None):
    """The one datamodule of all `loaded` checkpoints (an error when they were trained on different data)."""
    overrides = overrides or {}
    signatures = [data_signature({**d, **overrides}) for *_, d in loaded]
    for (path, *_), sig in zip(loaded[1:], signatures[1:]):
        if sig != signatures[0]:
            keys = sorted(k for k in set(sig) | set(signatures[0]) if sig.get(k) != signatures[0].get(k))
            raise EvaluateError(f"{path} was trained on other data than {loaded[0][0]} (data.{', data.'.join(keys)} "
                                "differ); one plane compares models of the same data")
    dm = build_datamodule(loaded[0][2], overrides)
    for path, method, _ in loaded:
        if method.vocab.itos != dm.vocab.itos:
            raise EvaluateError("the rebuilt data's vocabulary differs from the checkpoint's: check data.* overrides")
        use_stored_metrics(path, method, dm)
    return dm


def use_stored_metrics(path: str, method: TextGANModule, dm) -> None:
    """Give `method` the metrics of its checkpoint's `metrics:` config, built from `dm` by allow-list
    (`textgan.metrics.build`: only textgan's metric classes, plain settings)."""
    stored = (method.run_config or {}).get("metrics")
    if not isinstance(stored, dict):
        raise EvaluateError(f"{path} has no metrics config: it was not written by textgan's train.py; evaluate a "
                            "checkpoint of a textgan run")
    try:
        method.set_metrics(build_metrics(stored, dm, method.vocab, method.seq_len))
    except ConfigError as ex:
        raise EvaluateError(f"{path}: {ex}") from None


def curve_points(loaded: list[tuple[str, str, TextGANModule]], dm, temperatures: list[float], num_samples: int,
                 seed: int, batch_size: int, progress: bool = True) -> list[Point]:
    """The points of every (path, label, method) at every temperature (one point at T = 1 for a generator that
    samples one way only), with a progress bar."""
    from tqdm.auto import tqdm

    plan = []
    for path, label, method in loaded:
        temps = temperatures if sampling_temperature_supported(method) else [1.0]
        if len(temps) < len(temperatures):
            print(f"note: {type(method.generator).__name__} ({path}) samples one way only: one point at T=1",
                  file=sys.stderr)
        plan += [(path, label, method, t) for t in temps]
    points = []
    for path, label, method, t in tqdm(plan, desc="quality-diversity", unit="point", disable=not progress):
        points.append(Point(label, path, t, num_samples, evaluate_point(method, dm, t, num_samples, seed,
                                                                        batch_size)))
    return points


def mean_over_runs(points: list[Point]) -> list[Point]:
    """One point per (label, temperature): every metric's mean over the label's runs (its seeds), plus
    `<metric>_std` (sample std, ddof=1; 0 for one run) and `runs`; `checkpoint` lists the runs' files."""
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        groups.setdefault((p.label, p.temperature), []).append(p)
    out = []
    for (label, temp), members in groups.items():
        metrics: dict[str, float] = {"runs": float(len(members))}
        for name in sorted(set().union(*(m.metrics for m in members))):
            values = [m.metrics[name] for m in members if name in m.metrics]
            mean = math.fsum(values) / len(values)
            std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
            metrics[name], metrics[f"{name}_std"] = mean, std
        out.append(Point(label, " ".join(m.checkpoint for m in members), temp, members[0].num_samples, metrics))
    return out


def write_plane(points: list[Point], out: Path, bleu_n: int = 2, title: str = "") -> tuple[Path, Path | None]:
    """`out/quality_diversity.csv` and, when the data gives a plane, `out/quality_diversity.png`."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path = write_csv(points, out / CSV_NAME)
    axes = plane_axes(points, bleu_n)
    if axes is None:
        print(f"note: this data gives no quality-diversity pair (NLL-oracle/NLL-test or BLEU-{bleu_n}/"
              f"Self-BLEU-{bleu_n}); wrote the CSV only", file=sys.stderr)
        return csv_path, None
    return csv_path, plot_plane(points, axes, out / PNG_NAME, title)


def evaluate(args: dict) -> tuple[list[Point], Path]:
    """Every (checkpoint, temperature) point of `args` (see `check_args`), written to `args["out"]`; returns the
    points and the output folder."""
    loaded = load_checkpoints(args["ckpts"], _device(args["device"]))
    labels = args["labels"] or [type(method).__name__ for _, method, _ in loaded]
    if len(set(labels)) < len(labels):  # the same class twice: tell the curves apart by their run dirs
        labels = [f"{label} ({Path(path).resolve().parent.parent.name})" for (path, *_), label in zip(loaded, labels)]
    dm = shared_datamodule(loaded, args["data"])
    points = []
    if args["real"]:
        points.append(real_data_point(loaded[0][1], dm, args["num_samples"], args["seed"], args["batch_size"]))
    points += curve_points([(path, label, method) for (path, method, _), label in zip(loaded, labels)], dm,
                           args["temperatures"], args["num_samples"], args["seed"], args["batch_size"],
                           args["progress"])
    out = Path(args["out"] or Path("outputs") / "evaluate" / datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
    write_plane(points, out, args["bleu_n"])
    return points, out


def sweep_plane(groups: dict[str, list[str]], temperatures: list[float], out: Path, num_samples: int = 10_000,
                seed: int = 0, device: str = "auto", batch_size: int = 256, bleu_n: int = 2, real: bool = True,
                progress: bool = True) -> tuple[list[Point], Path, Path | None]:
    """The plane of a sweep (`textgan.cli.report --quality-diversity`): `groups` maps a curve label (e.g. a method)
    to its runs' checkpoints (one per seed); each curve is the mean over its runs at every temperature."""
    paths = [p for members in groups.values() for p in members]
    loaded = load_checkpoints(paths, _device(device))
    dm = shared_datamodule(loaded)
    by_path = {path: method for path, method, _ in loaded}
    points = [real_data_point(loaded[0][1], dm, num_samples, seed, batch_size)] if real else []
    runs = [(path, label, by_path[str(path)]) for label, members in groups.items() for path in map(str, members)]
    points += mean_over_runs(curve_points(runs, dm, temperatures, num_samples, seed, batch_size, progress))
    csv_path, png = write_plane(points, Path(out), bleu_n, "quality–diversity, mean over seeds (labels: temperature)")
    return points, csv_path, png


def run(args: dict) -> int:
    """Evaluate the checked options `args` (`check_args`) and say where the files are; the exit status."""
    points, out = evaluate(args)
    print(f"wrote {len(points)} points to {out / CSV_NAME}" + (f" and {out / PNG_NAME}" if (out / PNG_NAME).exists()
                                                               else ""), file=sys.stderr)
    return 0


def compose_options(argv: list[str]) -> dict:
    """The checked options of a command line, composed by Hydra's compose API exactly as the app composes them."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    overrides = check_command_line(argv)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR), job_name=CONFIG):
        cfg = compose(config_name=CONFIG, overrides=overrides)
    return check_args(OmegaConf.to_container(cfg, resolve=True))


def main(argv: list[str] | None = None) -> int:
    """The app's command line in-process (one job, no Hydra run dir) -> exit status; for tests and scripts."""
    argv = sys.argv[1:] if argv is None else argv
    return run_with_one_line_errors(lambda: run(compose_options(argv)))  # one line for a user's mistake


def task(cfg) -> int:
    """The Hydra job: `conf/evaluate.yaml` + overrides -> checked options -> `run`; a multirun job writes its
    own folder (`<sweep dir>/<overrides>`)."""
    from omegaconf import OmegaConf

    args = check_args(OmegaConf.to_container(cfg, resolve=True))
    if is_multirun():
        args["out"] = job_output(args["out"], suffix="")
    return run(args)


def cli() -> None:
    """`textgan-evaluate` / `python -m textgan.cli.evaluate`: the `@hydra.main` app over `conf/evaluate.yaml`."""
    multirun = any(a in ("-m", "--multirun") for a in sys.argv[1:])
    run_tool(CONFIG, task, list(DEFAULTS), EvaluateError,
             check=lambda argv: check_command_line(argv, multirun))


if __name__ == "__main__":
    cli()
