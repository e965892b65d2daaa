"""`OracleDataModule`: SeqGAN's synthetic benchmark (Yu et al. 2017, section 5.1).

Two oracles (`oracle=`):

- "synthetic" (default, no download): textgan's oracle LSTM (`textgan.models.oracle.build_oracle`, parameters
  ~ N(0, 1)) built from `seed`.
- "seqgan": the authors' published oracle (`target_params_py3.pkl`, pinned in `SEQGAN_FILES`, sha256-verified,
  read by a numpy-only unpickler), so NLL-oracle is on the scale of the paper's Table 1. It is looked up in
  `root` (e.g. `TEXTGAN_DATA/seqgan_oracle`) and downloaded there when missing.

Data: `num_train` training and `num_test` held-out sequences of length `seq_len`, sampled from the oracle with
`seed` (the authors' current code also draws its training set afresh), cached in `cache_dir` under a name that
encodes every setting. `train_file` replaces the sampled training set by a file of space-separated token ids, one
sequence per line: a path, or `real_data.txt` for the 2016 training set the authors' first code trained on
(downloaded into `root` with its pinned sha256).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch

from textgan.data.download import DataFileError, download, read_text
from textgan.data.numpy_pickle import UnsafePickleError, load_numpy_pickle
from textgan.data.tokens import TokensDataModule
from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.models.lstm import LSTMGenerator
from textgan.models.oracle import build_oracle, seqgan_oracle_from_arrays
from textgan.ranges import NonNegativeInt, PositiveInt, check_arguments

SEQGAN_COMMIT = "e2b52fb6309851b14765290e8a972ccac09f1bec"
SEQGAN_FIRST_COMMIT = "4152436cb6fed67d3dec0512639d9f6967a7b2de"
SEQGAN_RAW = "https://raw.githubusercontent.com/LantaoYu/SeqGAN"
# file name in `root` -> (pinned URL, sha256)
SEQGAN_FILES = {
    "target_params_py3.pkl": (f"{SEQGAN_RAW}/{SEQGAN_COMMIT}/save/target_params_py3.pkl",
                              "5ac794a695dd6e0eb2bb689f3dfda55e4e0053e8c0399e6242630a95f1e60e8a"),
    "real_data.txt": (f"{SEQGAN_RAW}/{SEQGAN_FIRST_COMMIT}/MLE_SeqGAN/save/real_data.txt",
                      "c0338b2bc2a29802154c81058b8aafed488ee55bda3aaba3849289c59a7a8e22"),
}


def seqgan_file(root: str | os.PathLike, name: str, progress: bool = True) -> Path:
    """`root/name` for a file of `SEQGAN_FILES`, downloaded from its pinned URL and sha256-verified when missing
    (an existing file is verified too)."""
    url, digest = SEQGAN_FILES[name]
    return download(url, Path(os.path.expanduser(str(root))) / name, digest, progress=progress)


def load_seqgan_oracle(path: str | os.PathLike) -> LSTMGenerator:
    """The authors' oracle from `target_params_py3.pkl` (numpy-only unpickler: nothing in the file is executed)."""
    return seqgan_oracle_from_arrays(load_numpy_pickle(path))


def read_token_file(path: str | os.PathLike, vocab_size: int, seq_len: int) -> torch.Tensor:
    """`[n, seq_len]` token ids from a file with one sequence of `seq_len` space-separated ids per line."""
    rows = []
    for i, line in enumerate(read_text(path, what="training file").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            ids = [int(t) for t in line.split()]
        except ValueError:
            raise DataFileError(f"training file {path}, line {i}: not integer token ids ({line[:40]!r}); "
                                "data.train_file needs space-separated ids, one sequence per line") from None
        if len(ids) != seq_len or not all(0 <= t < vocab_size for t in ids):
            raise DataFileError(f"training file {path}, line {i}: expected {seq_len} ids in 0..{vocab_size - 1}, "
                                f"got {len(ids)} ids in {min(ids)}..{max(ids)}; fix the file or data.seq_len")
        rows.append(ids)
    return torch.tensor(rows, dtype=torch.long)


class OracleDataModule(TokensDataModule):
    """Batches of `[batch, seq_len]` oracle samples. Exposes `vocab`, `seq_len`, `oracle`, `train_tokens`,
    `test_tokens` for the methods' evaluation.

    Args:
        cache_dir: where sampled data is cached.
        oracle: "synthetic" (textgan's seeded N(0, 1) oracle, sizes below) or "seqgan" (the authors' oracle: the
            sizes are the file's, 5000 / 32 / 32).
        root: folder of the "seqgan" oracle's files (downloaded there when missing).
        train_file: None (sample `num_train` sequences) or a token-id file (`real_data.txt`: the authors' 2016
            training set, fetched into `root`).
        seed: builds the synthetic oracle's weights; seeds the sampling of the data.
    """

    # what evaluation metrics may be built from (`textgan.metrics.build`): NLL-oracle needs the oracle
    eval_provides = ("train_tokens", "test_tokens", "oracle")

    def __init__(
        self,
        cache_dir: str,
        vocab_size: PositiveInt = 5000,
        embed_dim: PositiveInt = 32,
        hidden_dim: PositiveInt = 32,
        seq_len: PositiveInt = 20,
        num_train: PositiveInt = 10_000,
        num_test: PositiveInt = 10_000,
        seed: int = 88,
        batch_size: PositiveInt = 64,
        num_workers: NonNegativeInt = 0,
        oracle: Literal["synthetic", "seqgan"] = "synthetic",
        root: str | None = None,
        train_file: str | None = None,
        shuffle: bool = True,
    ):
        check_arguments(OracleDataModule, locals(), "data")
        super().__init__()
        self.cache_dir = Path(os.path.expanduser(cache_dir))
        self.vocab_size, self.embed_dim, self.hidden_dim = vocab_size, embed_dim, hidden_dim
        self.seq_len, self.num_train, self.num_test, self.seed = seq_len, num_train, num_test, seed
        self.batch_size, self.num_workers, self.shuffle = batch_size, num_workers, shuffle
        self.oracle_name, self.train_file = oracle, train_file
        self.root = Path(os.path.expanduser(root)) if root else self.cache_dir / "seqgan_oracle"
        self.oracle = self._build_oracle()
        self.vocab = Vocabulary([str(i) for i in range(vocab_size)], specials=())
        self.train_tokens: torch.Tensor | None = None
        self.test_tokens: torch.Tensor | None = None

    def _build_oracle(self) -> LSTMGenerator:
        if self.oracle_name == "synthetic":
            return build_oracle(self.vocab_size, self.embed_dim, self.hidden_dim, self.seed)
        if self.oracle_name != "seqgan":
            raise ConfigError(f"data.oracle={self.oracle_name!r}: choose synthetic or seqgan")
        try:
            oracle = load_seqgan_oracle(seqgan_file(self.root, "target_params_py3.pkl"))
        except UnsafePickleError as err:
            raise DataFileError(str(err)) from None
        sizes = (oracle.vocab_size, oracle.embedding.embedding_dim, oracle.lstm.hidden_size)
        if sizes != (self.vocab_size, self.embed_dim, self.hidden_dim):
            raise ConfigError(f"data.oracle=seqgan has vocab_size/embed_dim/hidden_dim {sizes}, the config says "
                              f"{(self.vocab_size, self.embed_dim, self.hidden_dim)}: leave those at the defaults "
                              "(5000, 32, 32) with the authors' oracle")
        return oracle

    @property
    def cache_file(self) -> Path:
        if self.oracle_name == "seqgan":
            num_train = 0 if self.train_file else self.num_train
            name = f"seqgan_len{self.seq_len}_train{num_train}_test{self.num_test}_seed{self.seed}.pt"
        else:
            name = (f"oracle_v{self.vocab_size}_e{self.embed_dim}_h{self.hidden_dim}_len{self.seq_len}"
                    f"_train{self.num_train}_test{self.num_test}_seed{self.seed}.pt")
        return self.cache_dir / "oracle" / name

    def _generate(self) -> dict[str, torch.Tensor]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            if self.oracle_name == "synthetic":
                train = self.oracle.sample(self.num_train, self.seq_len)
                test = self.oracle.sample(self.num_test, self.seq_len)
                return {"train": train, "test": test}
            # own streams: the held-out set is the same whether the training set is sampled or read from a file
            train = (torch.zeros(0, self.seq_len, dtype=torch.long) if self.train_file
                     else self.oracle.sample(self.num_train, self.seq_len))
            torch.manual_seed(self.seed + 2)
            return {"train": train, "test": self.oracle.sample(self.num_test, self.seq_len)}

    def prepare_data(self) -> None:
        if self.train_file == "real_data.txt":
            seqgan_file(self.root, "real_data.txt")
        if self.cache_file.exists():
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(f".tmp{os.getpid()}")
        torch.save(self._generate(), tmp)
        os.replace(tmp, self.cache_file)  # atomic: a reader never sees half a file

    def setup(self, stage: str | None = None) -> None:
        if self.train_tokens is not None:
            return
        self.prepare_data()
        data = torch.load(self.cache_file, weights_only=True)
        self.train_tokens, self.test_tokens = data["train"], data["test"]
        if self.train_file is not None:
            path = self.root / self.train_file if self.train_file == "real_data.txt" else Path(self.train_file)
            self.train_tokens = read_token_file(path.expanduser(), self.vocab_size, self.seq_len)

    def train_dataloader(self):
        # shuffle=False reads the training set in file order every epoch, as the authors' `Gen_Data_loader`
        return self._loader(self.train_tokens, shuffle=self.shuffle)
