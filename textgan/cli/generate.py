"""Checkpoint -> decoded text, one sample per line (`generate.py` at the repository root calls `main`).

    python generate.py ckpt=PATH num_samples=1000 decode=sample temperature=1.0 out=samples.txt [seed=0]
                       [top_k=0] [top_p=1.0] [layout=line|poem] [device=auto]

The method is rebuilt from the checkpoint alone: `checkpoint["config"]["method"]` (the resolved run config that
`train.py` stores) and `checkpoint["vocab"]`, then the weights; the file is read with `torch.load(weights_only=True)`.
Any unconditional method's checkpoint works (MLE, SeqGAN, WGAN-GP, Gumbel-softmax GAN: whatever
`method.generate(n)` draws from). Decoding: `sample` (temperature, top-k, top-p) or `greedy`, as far as the
generator supports them (a non-autoregressive generator decodes one way only; asking for more is an error).
Samples are reproducible under `seed` on a given device. `layout=poem` writes each sample as four lines of
equal length (a quatrain: 4 x 5 or 4 x 7 characters) followed by an empty line.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import torch
import yaml
from omegaconf import DictConfig, OmegaConf

from textgan.cli.common import check_no_option_flags, job_output, run_tool
from textgan.config.compose import CONF_DIR
from textgan.errors import UserError, run_with_one_line_errors
from textgan.ranges import NonNegativeInt, PositiveFloat, PositiveInt, Probability, check_value

CONFIG = "generate"  # conf/generate.yaml: the options and their defaults
DEFAULTS: dict = {k: v for k, v in yaml.safe_load(
    (CONF_DIR / f"{CONFIG}.yaml").read_text(encoding="utf-8")).items() if k not in ("defaults", "hydra")}
DECODES = ("sample", "greedy")
LAYOUTS = ("line", "poem")
DEVICES = ("auto", "cpu", "cuda")
# type and range of the numeric options (textgan.ranges), checked before the checkpoint is read
RANGES = {"num_samples": PositiveInt, "temperature": PositiveFloat, "top_k": NonNegativeInt, "top_p": Probability,
          "seed": int, "batch_size": PositiveInt}
HINTS = {"temperature": "decode=greedy takes the most likely token", "top_k": "0: no top-k filtering",
         "top_p": "1.0: no nucleus filtering"}


class GenerateError(UserError, ValueError):
    """A one-line problem with the command line or the checkpoint."""


def parse_args(argv: list[str]) -> dict:
    """`key=value` pairs over `DEFAULTS`, as the app takes them (`layout=poem`; `--layout poem` is one line saying
    so, as in the app); unknown keys are an error."""
    check_no_option_flags(argv, list(DEFAULTS), GenerateError)
    given = OmegaConf.to_container(OmegaConf.from_dotlist(argv))
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise GenerateError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(DEFAULTS)}")
    return check_args({**DEFAULTS, **given})


def check_args(args: dict) -> dict:
    """The values of every option (before the checkpoint is read); `args` back."""
    if not args["ckpt"]:
        raise GenerateError("ckpt=PATH is required (a checkpoint of any run, e.g. outputs/.../checkpoints/last.ckpt)")
    if args["decode"] not in DECODES:
        raise GenerateError(f"decode={args['decode']}: choose one of {', '.join(DECODES)}")
    if args["layout"] not in LAYOUTS:
        raise GenerateError(f"layout={args['layout']}: choose one of {', '.join(LAYOUTS)}")
    if args["device"] not in DEVICES:
        raise GenerateError(f"device={args['device']}: choose one of {', '.join(DEVICES)}")
    if args["device"] == "cuda" and not torch.cuda.is_available():
        raise GenerateError("device=cuda: no CUDA GPU is visible on this machine; use device=cpu")
    for key, annotation in RANGES.items():
        check_value(key, args[key], annotation, GenerateError, HINTS.get(key, ""))
    return args


def load_method(ckpt_path: str | Path, device: str = "cpu"):
    """Rebuild the trained method of a checkpoint (config + vocabulary + weights), in eval mode on `device`."""
    from textgan.runs.checkpoint import load_method as load

    path = Path(ckpt_path)
    if not path.is_file():
        raise GenerateError(f"ckpt={ckpt_path}: no such file")
    return load(path, device)


def decode_kwargs(method, args: dict) -> dict:
    """The decoding options `method.generator.sample` accepts; an error for requested ones it does not."""
    params = inspect.signature(method.generator.sample).parameters
    wanted = {"decode": args["decode"], "temperature": args["temperature"], "top_k": args["top_k"],
              "top_p": args["top_p"]}
    if all(k in params for k in wanted):
        return wanted
    defaults = {"decode": "sample", "temperature": 1.0, "top_k": 0, "top_p": 1.0}
    changed = [k for k, v in wanted.items() if v != defaults[k] and k not in params]
    if changed:
        raise GenerateError(f"{type(method.generator).__name__} decodes one way only; drop "
                            f"{', '.join(f'{k}={wanted[k]}' for k in changed)}")
    return {k: v for k, v in wanted.items() if k in params}


def poem_lines(text: str, lines: int = 4) -> list[str]:
    """Split a quatrain's characters into `lines` lines of equal length (the last takes any remainder)."""
    text = text.replace(" ", "")
    width = max(1, len(text) // lines)
    out = [text[i * width:(i + 1) * width] for i in range(lines - 1)]
    return [*out, text[(lines - 1) * width:]]


def generate_texts(method, args: dict) -> list[str]:
    """`num_samples` decoded samples (never token ids), reproducible under `args["seed"]`."""
    torch.manual_seed(args["seed"])
    kwargs = decode_kwargs(method, args)
    texts, left = [], args["num_samples"]
    with torch.no_grad():
        while left > 0:
            n = min(left, args["batch_size"])
            ids = method.generate(n, **kwargs)
            texts += [method.vocab.to_text(row) for row in ids.tolist()]
            left -= n
    return texts


def format_texts(texts: list[str], layout: str) -> str:
    if layout == "poem":
        return "".join("\n".join(poem_lines(t)) + "\n\n" for t in texts)
    return "".join(t.replace("\n", " ") + "\n" for t in texts)


def run(args: dict) -> int:
    """Decode `args["num_samples"]` samples of `args["ckpt"]` into `args["out"]` (stdout if None)."""
    device = args["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    from textgan.methods.seq2seq import DialogueMethod

    method = load_method(args["ckpt"], device)
    if isinstance(method, DialogueMethod) or not hasattr(method, "generate"):
        raise GenerateError(f"ckpt={args['ckpt']}: a dialogue model answers contexts, it draws no free samples; "
                            "talk to it with `python -m textgan.cli.chat ckpt=...`")
    text = format_texts(generate_texts(method, args), args["layout"])
    if args["out"]:
        Path(args["out"]).parent.mkdir(parents=True, exist_ok=True)
        Path(args["out"]).write_text(text, encoding="utf-8")
        print(f"wrote {args['num_samples']} samples to {args['out']}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`key=value` (or `--key value`) command line -> exit status, without Hydra (tests, scripts)."""
    argv = sys.argv[1:] if argv is None else argv
    return run_with_one_line_errors(lambda: run(parse_args(argv)))  # one line for a user's mistake


def task(cfg: DictConfig) -> int:
    """The Hydra job: `conf/generate.yaml` + overrides -> checked options -> `run`."""
    args = check_args(OmegaConf.to_container(cfg, resolve=True))
    args["out"] = job_output(args["out"])
    return run(args)


def cli() -> None:
    """`textgan-generate` / `python -m textgan.cli.generate`: the `@hydra.main` app over `conf/generate.yaml`."""
    run_tool(CONFIG, task, list(DEFAULTS), GenerateError)


if __name__ == "__main__":
    cli()
