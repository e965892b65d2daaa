"""Talk to a dialogue checkpoint (`method=seq2seq` or `method=dialogue_seqgan`).

    python -m textgan.chat ckpt=outputs/.../checkpoints/last.ckpt decode=beam beam_size=5
    python -m textgan.chat ckpt=last.ckpt input=contexts.txt output=responses.txt decode=greedy

Interactive mode (no `input=`): each line you type is a context; the model answers it. Batch mode: `input=` a
UTF-8 file with one context per line; `output=` gets one response per line (default `-`: standard output).

Options (`key=value`): `decode` = greedy | beam | sample (default: the run's `eval_decode`), `beam_size`,
`length_penalty`, `temperature`, `top_k`, `top_p`, `max_len` (response tokens, default the run's),
`batch_size`, `seed`. The checkpoint holds the vocabulary and the resolved run config, from which the method
is rebuilt by allow-list (`textgan.load`); it is loaded with `torch.load(weights_only=True)`. Contexts are
tokenized as the run's data was (words or characters, `lower`, the last `max_context_len` tokens, `<eos>` if
the data adds it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from textgan.data.download import read_text
from textgan.data.tokenize import encode_padded, fit_length, tokenize
from textgan.decoding import DECODERS
from textgan.errors import UserError, handle
from textgan.ranges import NonNegativeInt, PositiveFloat, PositiveInt, Probability, base_type, check_value

USAGE = __doc__
# type and range of each option (textgan.ranges); checked before the checkpoint is read
OPTIONS = {"ckpt": str, "input": str, "output": str, "decode": str, "beam_size": PositiveInt,
           "length_penalty": float, "temperature": PositiveFloat, "top_k": NonNegativeInt, "top_p": Probability,
           "max_len": PositiveInt, "batch_size": PositiveInt, "seed": int}


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
            opts[key] = kind(value)
        except ValueError:
            raise ChatError(f"{key}={value!r} is not a valid {kind.__name__}") from None
        check_value(key, opts[key], OPTIONS[key], ChatError)
    if "ckpt" not in opts:
        raise ChatError("give the checkpoint: ckpt=path/to/last.ckpt")
    if opts.get("decode", DECODERS[0]) not in DECODERS:
        raise ChatError(f"decode={opts['decode']}: choose one of {', '.join(DECODERS)}")
    return opts


class Responder:
    """A dialogue method rebuilt from a checkpoint, answering text contexts with text responses."""

    def __init__(self, ckpt_path: str | Path):
        from textgan.load import load_method
        from textgan.methods.seq2seq import DialogueMethod

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    try:
        opts = parse_args(argv)
        responder = Responder(opts.pop("ckpt"))
        torch.manual_seed(opts.pop("seed", 0))
        in_path, out_path = opts.pop("input", None), opts.pop("output", "-")
        decode, batch_size = opts.pop("decode", None), opts.pop("batch_size", 64)
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
    except Exception as ex:
        status = handle(ex)  # one line for a user's mistake (textgan.errors); a bug keeps its traceback
        if status is None:
            raise
        return status


if __name__ == "__main__":
    sys.exit(main())
