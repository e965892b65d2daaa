"""`OracleDataModule`: SeqGAN's synthetic benchmark (Yu et al. 2017, section 5), needing no download.

An oracle LSTM (`textgan.models.oracle.build_oracle`, parameters ~ N(0, 1)) built from `seed` samples
`num_train` training sequences and `num_test` held-out sequences of length `seq_len`. They are cached in
`cache_dir` under a name that encodes every setting, so a second run (or another process) reads the same data.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from textgan.data.tokens import TokensDataModule
from textgan.data.vocab import Vocabulary
from textgan.models.oracle import build_oracle
from textgan.ranges import NonNegativeInt, PositiveInt, check_arguments


class OracleDataModule(TokensDataModule):
    """Batches of `[batch, seq_len]` oracle samples. Exposes `vocab`, `seq_len`, `oracle`, `train_tokens`,
    `test_tokens` for the methods' evaluation."""

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
    ):
        check_arguments(OracleDataModule, locals(), "data")
        super().__init__()
        self.cache_dir = Path(os.path.expanduser(cache_dir))
        self.vocab_size, self.embed_dim, self.hidden_dim = vocab_size, embed_dim, hidden_dim
        self.seq_len, self.num_train, self.num_test, self.seed = seq_len, num_train, num_test, seed
        self.batch_size, self.num_workers = batch_size, num_workers
        self.vocab = Vocabulary([str(i) for i in range(vocab_size)], specials=())
        self.oracle = build_oracle(vocab_size, embed_dim, hidden_dim, seed)
        self.train_tokens: torch.Tensor | None = None
        self.test_tokens: torch.Tensor | None = None

    @property
    def cache_file(self) -> Path:
        name = (f"oracle_v{self.vocab_size}_e{self.embed_dim}_h{self.hidden_dim}_len{self.seq_len}"
                f"_train{self.num_train}_test{self.num_test}_seed{self.seed}.pt")
        return self.cache_dir / "oracle" / name

    def _generate(self) -> dict[str, torch.Tensor]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            train = self.oracle.sample(self.num_train, self.seq_len)
            test = self.oracle.sample(self.num_test, self.seq_len)
        return {"train": train, "test": test}

    def prepare_data(self) -> None:
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
