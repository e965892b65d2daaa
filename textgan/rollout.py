"""Monte Carlo rollouts: a reward for every token of a generated sequence.

SeqGAN (Yu et al. 2017, eq. 4) defines the action value of token t as the mean discriminator score of N complete
sequences that keep the prefix `y_0..y_t` and sample the rest from a rollout policy:

    Q(y_<=t) = 1/N sum_n D(MC_n(y_<=t))    for t < T-1,    Q(y_<=T-1) = D(y).

Li et al. (2017) reuse it for dialogue ("REGS"). This module computes it in batch: the policy's state after every
prefix is computed once (`prefix_states`), and all (prefix, rollout) continuations advance together, so a call
makes `seq_len` sequential generator steps instead of `num_rollouts * seq_len^2`. Rows are ordered by prefix
length, so at step s only the rows whose prefix is shorter than s are advanced (contiguous slices). A reward marked
`@shares_prefix` is told which rows share a prefix, so it can do the prefix's work once; a reward marked
`@takes_source_row` is told which sequence each row continues (`source_row`), so a conditional reward can pair it
with that sequence's input.

The policy is a `textgan.policy.Policy` (`LSTMGenerator`, or `Seq2Seq.bind(context)` for a conditional one).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from textgan.masks import pad_after_eos
from textgan.policy import Policy
from textgan.sampling import inverse_cdf, sample_next

RewardFn = Callable[[torch.Tensor], torch.Tensor]
CPU_STEP_ROWS = 512  # rows advanced together by `rollout_completions` on a CPU: their logits stay in cache


def shares_prefix(reward_fn: Callable) -> Callable:
    """Mark `reward_fn(tokens, prefix_len=0, group=None)` as able to reuse work on a shared prefix.

    `mc_rewards` then scores the completions of each prefix length `t+1` in chunks whose rows `i` and `i + group`
    share `tokens[:, :t+1]` (one row per prefix in the first `group` rows), and passes `prefix_len=t+1` and
    `group`; e.g. `textgan.fast.cnn.PrefixSharingScorer` computes the windows inside the prefix once per group.
    Works on functions and methods (a bound method reads the attribute of its function); a callable object can
    carry the attribute itself.
    """
    reward_fn.shares_prefix = True
    return reward_fn


def takes_source_row(reward_fn: Callable) -> Callable:
    """Mark `reward_fn(tokens, source_row)` as a reward that needs to know which sequence each row continues.

    `mc_rewards` then also passes `source_row` `[n]` long, aligned with the rows of `tokens`: row i is
    `sequences[source_row[i]]` itself (the final scores) or one of its completions. A conditional reward looks up
    the input of that sequence with it, e.g. dialogue's `D(context[source_row], tokens)`. Combines with
    `shares_prefix` (both keywords are passed).
    """
    reward_fn.takes_source_row = True
    return reward_fn


def completion_source_rows(batch: int, seq_len: int, num_rollouts: int,
                           device: torch.device | str | None = None) -> torch.Tensor:
    """`[(seq_len - 1) * num_rollouts * batch]` long: the row of `sequences` that each row of
    `rollout_completions(policy, sequences, num_rollouts)` continues (row `(t * num_rollouts + n) * batch + b`
    continues row b)."""
    return torch.arange(batch, device=device).repeat((seq_len - 1) * num_rollouts)


@torch.no_grad()
def chunked(reward_fn: RewardFn, sequences: torch.Tensor, batch_size: int,
            source_row: torch.Tensor | None = None) -> torch.Tensor:
    """`reward_fn` over `[n, seq_len]` in chunks of `batch_size` rows -> `[n]` float32. A reward marked
    `takes_source_row` also gets each chunk's slice of `source_row` `[n]` (default: each row is its own source)."""
    chunks = sequences.split(batch_size)
    if not getattr(reward_fn, "takes_source_row", False):
        return torch.cat([reward_fn(c).float() for c in chunks])
    if source_row is None:
        source_row = torch.arange(len(sequences), device=sequences.device)
    return torch.cat([reward_fn(c, source_row=s).float() for c, s in zip(chunks, source_row.split(batch_size))])


@torch.no_grad()
def rollout_completions(
    policy: Policy, sequences: torch.Tensor, num_rollouts: int, temperature: float = 1.0, step_rows: int | None = None
) -> torch.Tensor:
    """Every Monte Carlo completion of every proper prefix of `sequences` `[batch, seq_len]`.

    Returns `[(seq_len - 1) * num_rollouts * batch, seq_len]` long: row `(t * num_rollouts + n) * batch + b` keeps
    `sequences[b, :t+1]` and continues with tokens sampled from `policy` (then `<pad>` after an `<eos>`);
    `completion_source_rows` gives b for every row.

    The rows of one prefix length form a block that joins at step t+1 and is advanced in slices of at most
    `step_rows` rows, each with its own policy state: a slice's logits `[step_rows, vocab]` stay in cache while
    they are sampled, and no state is ever concatenated or copied. `step_rows=None` chooses by device: 512 on a
    CPU (the cache-sized slices), the whole block on other devices (one kernel launch per block and step).
    """
    b, t_len = sequences.shape
    if step_rows is None:
        step_rows = CPU_STEP_ROWS if sequences.device.type == "cpu" else num_rollouts * b
    r, eos, pad = num_rollouts, policy.eos_id, policy.pad_id
    states, next_logits = policy.prefix_states(sequences)
    row_b = torch.arange(b, device=sequences.device).repeat(r)  # batch index of each row of one prefix block
    completions = sequences[row_b].repeat(t_len - 1, 1)  # [(T-1)*R*B, T], prefixes already in place
    finished = None
    if eos is not None:
        ended = (sequences == eos).long().cumsum(dim=1) > 0  # [B, T]: an <eos> at or before t
        finished = ended[:, : t_len - 1].t()[:, row_b].reshape(-1)  # rows whose prefix already ended
    block, step_rows = r * b, max(1, step_rows)
    slices: list[tuple[int, int, object]] = []  # (first row, end row, policy state) of every active slice
    for s in range(1, t_len):
        # advance every slice that already has free tokens by one step
        advanced = []
        for lo, hi, state in slices:
            logits, state = policy.step(completions[lo:hi, s - 1], state)
            _put(completions, finished, lo, hi, s, inverse_cdf(logits, temperature), eos, pad)
            advanced.append((lo, hi, state))
        # the rows of prefix length s join: num_rollouts draws from each prefix's next-token distribution
        first = inverse_cdf(next_logits[:, s - 1], temperature, num_samples=r).t().reshape(-1)  # row n*B + b
        base = (s - 1) * block
        _put(completions, finished, base, base + block, s, first, eos, pad)
        for lo in range(0, block, step_rows):
            hi = min(lo + step_rows, block)
            advanced.append((base + lo, base + hi, policy.index_state(states[s - 1], row_b[lo:hi])))
        slices = advanced
    return completions


def _put(completions: torch.Tensor, finished: torch.Tensor | None, lo: int, hi: int, s: int, tokens: torch.Tensor,
         eos: int | None, pad: int | None) -> None:
    """Write sampled `tokens` into column `s` of rows `lo:hi`: `<pad>` for rows that already ended, and mark the
    rows that end now."""
    if finished is not None:
        done = finished[lo:hi]
        tokens = tokens.masked_fill(done, pad)
        finished[lo:hi] = done | (tokens == eos)
    completions[lo:hi, s] = tokens


@torch.no_grad()
def mc_rewards(
    generator: Policy,
    reward_fn: RewardFn,
    sequences: torch.Tensor,
    num_rollouts: int,
    reward_batch_size: int = 2048,
    temperature: float = 1.0,
    step_rows: int | None = None,
) -> torch.Tensor:
    """Per-token rewards `[batch, seq_len]` (float32) for `sequences` `[batch, seq_len]` sampled from `generator`.

    Entry `[b, t]` is the mean of `reward_fn` over `num_rollouts` completions of `sequences[b, :t+1]` sampled from
    `generator` (the rollout policy); the last column is `reward_fn(sequences)`. `reward_fn` maps
    `[n, seq_len]` long to `[n]` (e.g. `CNNDiscriminator.prob_real`); it is called on chunks of at most
    `reward_batch_size` rows, under `torch.no_grad()` and whatever autocast the caller runs in. A reward function
    marked with `shares_prefix` also receives `prefix_len` and `group` (chunks are then whole multiples of `batch`
    rows) and may compute the part of its work that depends only on the prefix once per prefix; one marked with
    `takes_source_row` also receives `source_row`, the row of `sequences` that each of its rows continues.
    """
    if sequences.dim() != 2:
        raise ValueError(f"sequences must be [batch, seq_len], got shape {tuple(sequences.shape)}")
    if num_rollouts < 1:
        raise ValueError(f"num_rollouts must be >= 1, got {num_rollouts}")
    b, t_len = sequences.shape
    final = chunked(reward_fn, sequences, reward_batch_size)  # [B]
    if t_len == 1:
        return final[:, None]
    completions = rollout_completions(generator, sequences, num_rollouts, temperature, step_rows)
    source_row = completion_source_rows(b, t_len, num_rollouts, sequences.device) \
        if getattr(reward_fn, "takes_source_row", False) else None
    if getattr(reward_fn, "shares_prefix", False):
        # one prefix length at a time, in chunks of whole groups of `b` rows that share their prefixes
        rows, block = max(1, reward_batch_size // b) * b, num_rollouts * b
        scores = []
        for t, prefix_block in enumerate(completions.split(block)):
            for first in range(0, block, rows):
                kwargs = {"prefix_len": t + 1, "group": b}
                if source_row is not None:
                    kwargs["source_row"] = source_row[t * block + first: t * block + first + rows]
                scores.append(reward_fn(prefix_block[first: first + rows], **kwargs).float())
        scores = torch.cat(scores)
    else:
        scores = chunked(reward_fn, completions, reward_batch_size, source_row)
    per_prefix = scores.view(t_len - 1, num_rollouts, b).mean(dim=1).t()  # [B, T-1]
    return torch.cat([per_prefix, final[:, None]], dim=1)


@torch.no_grad()
def update_rollout_policy(rollout_policy: torch.nn.Module, generator: torch.nn.Module, update_rate: float) -> None:
    """SeqGAN's delayed rollout network: `theta_roll <- update_rate * theta_roll + (1 - update_rate) * theta_G`."""
    for p_roll, p_gen in zip(rollout_policy.parameters(), generator.parameters()):
        p_roll.mul_(update_rate).add_(p_gen.detach(), alpha=1.0 - update_rate)


@torch.no_grad()
def mc_rewards_loop(generator: torch.nn.Module, reward_fn: RewardFn, sequences: torch.Tensor, num_rollouts: int
                    ) -> torch.Tensor:
    """The original algorithm (SeqGAN's reference code), one rollout and one prefix at a time.

    For each rollout n and prefix length t+1: re-run the policy over the prefix, sample the rest, score the batch.
    Same result in distribution as `mc_rewards`, `num_rollouts * (seq_len - 1)` sequential passes of up to
    `seq_len` steps each; kept as the reference for tests and `experiments/bench_rollout.py`. `generator`: an
    `LSTMGenerator` (it restarts from `init_state`).
    """
    b, t_len = sequences.shape
    eos, pad = generator.eos_id, generator.pad_id
    rewards = torch.zeros(b, t_len, device=sequences.device)
    for _ in range(num_rollouts):
        for t in range(t_len - 1):
            state = generator.init_state(b)
            logits, state = generator.step(None, state)
            out = sequences.clone()
            for s in range(t_len):
                if s > t:
                    out[:, s] = sample_next(logits)
                if s < t_len - 1:
                    logits, state = generator.step(out[:, s], state)
            out = pad_after_eos(out, eos, pad)
            rewards[:, t] += reward_fn(out).float()
    rewards[:, :-1] /= num_rollouts
    rewards[:, -1] = reward_fn(sequences).float()
    return rewards
