"""`TokensDataModule`: the dataloaders every unconditional corpus shares.

A subclass fills `train_tokens` and `test_tokens` (`LongTensor[n, seq_len]`: tokens, `<eos>`, `<pad>`) in `setup`
and sets `batch_size` / `num_workers`; training batches are shuffled, validation and test read the held-out split.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader


class TokensDataModule(pl.LightningDataModule):
    """Batches `[batch, seq_len]` of `train_tokens` (shuffled) and `test_tokens` (val and test)."""

    provides_data = "sequences"  # unconditional token sequences: for the methods whose `needs_data` says so
    # what evaluation metrics may be built from (`textgan.metrics.build`); subclasses add theirs
    eval_provides: tuple[str, ...] = ("train_tokens", "test_tokens")

    batch_size: int
    num_workers: int = 0
    train_tokens: torch.Tensor | None = None
    test_tokens: torch.Tensor | None = None

    def _loader(self, tokens: torch.Tensor, shuffle: bool) -> DataLoader:
        return DataLoader(tokens, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_tokens, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.test_tokens, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_tokens, shuffle=False)
