"""Talk to a dialogue checkpoint (`method=seq2seq`, `dialogue_seqgan` or `dialogue_rl`), or watch it talk to itself.

    python -m textgan.cli.chat ckpt=outputs/.../checkpoints/last.ckpt decode=beam beam_size=5
    python -m textgan.cli.chat ckpt=last.ckpt input=contexts.txt out=responses.txt decode=greedy
    python -m textgan.cli.chat ckpt=last.ckpt simulate=true turns=5 input="how are you ?"

Interactive mode (no `input=`): each line you type is a context; the model answers it. Batch mode: `input=` a
UTF-8 file with one context per line; `out=` gets one response per line (default `-`: standard output).

Simulation (`simulate=true`): two copies of the model answer each other for `turns` turns (default 5), starting
from `input=`: a file with one input message per line (batch mode) if such a file exists, else the message
itself; each dialogue is printed as `> input`, then `A: ...` / `B: ...` lines, then an empty line
(`textgan.dialogue.simulation`; contexts hold the run's `data.context_turns` previous turns).

Options (`key=value`): `decode` = greedy | beam | sample (default: the run's `method.decoding.decode`), `beam_size`,
`length_penalty`, `temperature`, `top_k`, `top_p`, `max_len` (response tokens, default the run's),
`batch_size`, `seed`. The checkpoint holds the vocabulary and the resolved run config, from which the method
is rebuilt by allow-list (`textgan.runs.checkpoint`); it is loaded with `torch.load(weights_only=True)`. Contexts are
tokenized as the run's data was (words or characters, `lower`, the last `max_context_len` tokens, `<eos>` if
the data adds it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from textgan.cli.common import is_multirun, job_output, run_tool
from textgan.data.download import read_text
from textgan.data.tokenize import encode_padded, fit_length, tokenize
from textgan.decoding import DECODERS
from textgan.errors import UserError, run_with_one_line_errors
from textgan.ranges import NonNegativeInt, PositiveFloat, PositiveInt, Probability, base_type, check_value

USAGE = __doc__


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise ValueError(text)


# type and range of each option (textgan.ranges); checked before the checkpoint is read
OPTIONS = {"ckpt": str, "input": str, "out": str, "decode": str, "beam_size": PositiveInt,
           "length_penalty": float, "temperature": PositiveFloat, "top_k": NonNegativeInt, "top_p": Probability,
           "max_len": PositiveInt, "batch_size": PositiveInt, "seed": int, "simulate": bool, "turns": PositiveInt}


class ChatError(UserError, ValueError):
    """A bad command line or checkpoint, with what to do about it."""


def parse_args(argv: list[str]) -> dict:
    """`key=value` arguments -> typed options (unknown keys and bad values are `ChatError`s)."""
    opts = {}
    for arg in argv:
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or key not in OPTIONS:
            raise ChatError(f"unknown argument {arg!r}; expected key=value with key in {sorted(OPTIONS)}")
        kind = base_type(OPTIONS[key])
        try:
            opts[key] = _bool(value) if kind is bool else kind(value)
        except ValueError:
            name = "bool (true or false)" if kind is bool else kind.__name__
            raise ChatError(f"{key}={value!r} is not a valid {name}") from None
    return check_opts(opts)


def check_opts(opts: dict) -> dict:
    """Range checks of the given options (before the checkpoint is read)."""
    for key, value in opts.items():
        check_value(key, value, OPTIONS[key], ChatError)
    if "ckpt" not in opts:
        raise ChatError("give the checkpoint: ckpt=path/to/last.ckpt")
    if opts.get("decode", DECODERS[0]) not in DECODERS:
        raise ChatError(f"decode={opts['decode']}: choose one of {', '.join(DECODERS)}")
    return opts


class Responder:
    """A dialogue method rebuilt from a checkpoint, answering text contexts with text responses."""

    def __init__(self, ckpt_path: str | Path):
        from textgan.methods.seq2seq import DialogueMethod
        from textgan.runs.checkpoint import load_method

        path = Path(ckpt_path)
        if not path.is_file():
            raise ChatError(f"checkpoint {path} does not exist (give ckpt=<run dir>/checkpoints/last.ckpt)")
        # allow-listed rebuild (a dialogue_seqgan's pretrained_ckpt is only read when fitting starts)
        self.method = load_method(path)
        self.config, self.vocab = self.method.run_config, self.method.vocab
        if not isinstance(self.method, DialogueMethod):
            raise ChatError(f"{path} is a {type(self.method).__name__} checkpoint, not a dialogue model "
                            "(train one with method=seq2seq or method=dialogue_seqgan, data=dialogue)")
        data = self.config.get("data", {})
        level = data.get("tokenize", "auto")
        if level == "auto":
            level = "char" if data.get("corpus") == "chatterbot_zh" else "word"
        self.level, self.lower = level, bool(data.get("lower", False))
        self.max_context_len = data.get("max_context_len")
        self.context_eos = bool(data.get("context_eos", True))
        self.context_turns = int(data.get("context_turns", 1))

    def encode_contexts(self, lines: list[str]) -> torch.Tensor:
        """Text contexts -> `[n, len]` ids, tokenized as the training data was (unknown words -> `<unk>`)."""
        tokens = [fit_length(tokenize(line.strip(), self.level, self.lower), self.max_context_len, keep="end")
                  for line in lines]
        length = max(1, max(len(t) for t in tokens) + int(self.context_eos))
        return encode_padded(self.vocab, tokens, length, add_eos=self.context_eos)

    def respond(self, lines: list[str], decode: str | None = None, batch_size: int = 64, **settings
                ) -> list[str]:
        """One text response per context line."""
        out = []
        for start in range(0, len(lines), batch_size):
            context = self.encode_contexts(lines[start: start + batch_size])
            ids = self.method.respond(context, decode, **settings)
            out.extend(self.vocab.to_text(row) for row in ids.tolist())
        return out


    def simulate(self, lines: list[str], turns: int = 5, decode: str | None = None, batch_size: int = 64,
                 **settings) -> list[list[str]]:
        """For each input line, the `turns` text turns that two copies of the model say after it."""
        if turns < 1:
            raise ChatError(f"turns={turns}: a simulated dialogue needs turns >= 1")
        out = []
        for start in range(0, len(lines), batch_size):
            context = self.encode_contexts(lines[start: start + batch_size])
            sim = self.method.simulate_dialogues(
                context, turns, decode, context_turns=self.context_turns,
                max_context_len=self.max_context_len or context.shape[1], context_eos=self.context_eos,
                **settings)
            texts = [[self.vocab.to_text(row) for row in turn.tolist()] for turn in sim.turns[1:]]
            out.extend(list(d) for d in zip(*texts))
        return out


def format_dialogue(message: str, turns: list[str]) -> str:
    """`> message`, then `A: ...` / `B: ...` alternating, then an empty line."""
    return "".join([f"> {message}\n", *(f"{'AB'[i % 2]}: {t}\n" for i, t in enumerate(turns)), "\n"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    return run_with_one_line_errors(lambda: run(parse_args(argv)))  # one line for a user's mistake


def run(opts: dict) -> int:
    """Answer (or simulate) as `opts` say (see the module docstring); the exit status."""
    responder = Responder(opts.pop("ckpt"))
    torch.manual_seed(opts.pop("seed", 0))
    in_path, out_path = opts.pop("input", None), opts.pop("out", None) or "-"
    decode, batch_size = opts.pop("decode", None), opts.pop("batch_size", 64)
    simulation, turns = opts.pop("simulate", False), opts.pop("turns", 5)
    if simulation:
        if in_path is None:
            raise ChatError('simulate=true needs the first message: input="how are you ?" (or a file of them)')
        lines = (read_text(in_path, what="input file", allow_empty=True).splitlines() if Path(in_path).is_file()
                 else [in_path])
        dialogues = responder.simulate(lines, turns, decode, batch_size, **opts) if lines else []
        text = "".join(format_dialogue(m, d) for m, d in zip(lines, dialogues))
        if out_path == "-":
            sys.stdout.write(text)
        else:
            Path(out_path).write_text(text, encoding="utf-8")
        return 0
    if in_path is not None:
        lines = read_text(in_path, what="input file", allow_empty=True).splitlines()
        responses = responder.respond(lines, decode, batch_size, **opts) if lines else []
        text = "".join(f"{r}\n" for r in responses)
        if out_path == "-":
            sys.stdout.write(text)
        else:
            Path(out_path).write_text(text, encoding="utf-8")
        return 0
    print("textgan chat: type a line and press enter (Ctrl-D or /quit to stop).", file=sys.stderr)
    prompt = "> " if sys.stdin.isatty() else ""  # piped input: responses only, one per line
    while True:
        try:
            line = input(prompt)
        except EOFError:
            return 0
        if line.strip() == "/quit":
            return 0
        print(responder.respond([line], decode, 1, **opts)[0], flush=True)


def task(cfg: DictConfig) -> int:
    """The Hydra job: `conf/chat.yaml` + overrides (null: the run's own setting) -> checked options -> `run`."""
    opts = check_opts({k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if v is not None})
    if is_multirun():
        opts["out"] = job_output(opts.get("out"))
    return run(opts)


def cli() -> None:
    """`textgan-chat` / `python -m textgan.cli.chat`: the `@hydra.main` app over `conf/chat.yaml`."""
    run_tool("chat", task, list(OPTIONS), ChatError)


if __name__ == "__main__":
    cli()
