"""What SeqGAN's discriminator trains on (Yu et al. 2017, Algorithm 1 lines 4-5 and 14-17), as batches.

A D step (one line 15-16 of Algorithm 1) is a `DiscriminatorPool`, as the authors' `Dis_dataloader`: the
positives (the training set, or a fresh random subset of it) and as many fresh negatives sampled from G, labelled
per example (1 real, 0 generated). Each of its `d_epochs` epochs goes over `shuffle(positives ∪ negatives)` in
mixed batches of `d_batch_size`: ceil((P + N) / d_batch_size) batches (at most `max_batches`), every example
exactly once. (The authors' loader shuffles once per pool and drops the remainder; with their 9,984 + 9,984
examples there is none.)

A `DiscriminatorRound` holds the D steps of one round of the schedule (one Lightning epoch) and hands each
Lightning batch of that epoch its share of the round's mixed batches (`share`), spread evenly, so the progress
bar and a mid-epoch checkpoint follow the work. The pools are drawn when the round's batches are first read: at
the round's first batch, after its G steps, all from the same G, as in the paper and code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DiscriminatorPool:
    """One D step's examples: `examples` `[P + N, seq_len]` (the P positives first), one permutation of them per D
    epoch (`orders`), read in mixed batches of `batch_size` (at most `max_batches` per epoch; None: all)."""

    examples: torch.Tensor
    num_positives: int
    orders: tuple[torch.Tensor, ...]
    batch_size: int
    max_batches: int | None = None

    @property
    def num_negatives(self) -> int:
        return len(self.examples) - self.num_positives

    def batches_per_epoch(self) -> int:
        """ceil((P + N) / batch_size), at most `max_batches`."""
        full = -(-len(self.examples) // self.batch_size)
        return full if self.max_batches is None else min(full, self.max_batches)

    def index_batches(self) -> list[torch.Tensor]:
        """The example indices of every mixed batch, epoch by epoch, batch by batch (the authors' loops)."""
        size, per_epoch = self.batch_size, self.batches_per_epoch()
        return [order[b * size:(b + 1) * size] for order in self.orders for b in range(per_epoch)]

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens `[len(idx), seq_len]` and labels `[len(idx)]` (1 real, 0 generated) of the examples `idx`."""
        return self.examples[idx], (idx < self.num_positives).long()


def draw_pool(positives: torch.Tensor, sample: Callable[[int], torch.Tensor], epochs: int, batch_size: int,
              pool_size: int | None = None, num_negatives: int | None = None, max_batches: int | None = None,
              device: torch.device | str = "cpu") -> DiscriminatorPool:
    """A fresh pool (line 15): `pool_size` positives drawn from `positives` `[n, seq_len]` (None: all of them),
    `num_negatives` samples of `sample(n)` (None: as many as the positives), one random order per D epoch."""
    pos = positives if pool_size is None else \
        positives[torch.randperm(len(positives))[:pool_size].to(positives.device)]
    neg = sample(num_negatives or len(pos)).to(device)
    examples = torch.cat([pos.to(device), neg])
    orders = tuple(torch.randperm(len(examples), device=device) for _ in range(epochs))
    return DiscriminatorPool(examples, len(pos), orders, batch_size, max_batches)


class DiscriminatorRound:
    """The `num_pools` D steps of one round, spread over the `num_batches` Lightning batches of its epoch.

    `draw()` gives one fresh pool; the round calls it `num_pools` times when its batches are first read."""

    def __init__(self, num_pools: int, draw: Callable[[], DiscriminatorPool], num_batches: int):
        self.num_pools, self.num_batches = num_pools, max(1, num_batches)
        self._draw = draw
        self.pools: list[DiscriminatorPool] | None = None  # drawn when first read
        self._batches: list[tuple[DiscriminatorPool, torch.Tensor]] = []

    def mixed_batches(self) -> list[tuple[DiscriminatorPool, torch.Tensor]]:
        """Every (pool, example indices) mixed batch of the round in order, drawing the pools first if needed."""
        if self.pools is None:
            self.pools = [self._draw() for _ in range(self.num_pools)]
            self._batches = [(pool, idx) for pool in self.pools for idx in pool.index_batches()]
        return self._batches

    def share(self, batch_idx: int) -> DiscriminatorBatches:
        """The mixed batches Lightning batch `batch_idx` of the round's epoch trains D on."""
        return DiscriminatorBatches(self, batch_idx)


class DiscriminatorBatches:
    """One Lightning batch's share of a round: iterate it for `(tokens [<= d_batch_size, seq_len], labels)`;
    `opens_round` is True for the round's first batch (where the round's G steps belong)."""

    def __init__(self, d_round: DiscriminatorRound, batch_idx: int):
        self.d_round, self.batch_idx = d_round, batch_idx

    @property
    def opens_round(self) -> bool:
        return self.batch_idx == 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        batches, n, b = self.d_round.mixed_batches(), self.d_round.num_batches, self.batch_idx
        for pool, idx in batches[b * len(batches) // n:min(len(batches), (b + 1) * len(batches) // n)]:
            yield pool.batch(idx)
