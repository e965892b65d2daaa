"""Monte Carlo rollouts: a reward for every token of a generated sequence.

SeqGAN (Yu et al. 2017, eq. 4) defines the action value of token t as the mean discriminator score of N complete
sequences that keep the prefix `y_0..y_t` and sample the rest from a rollout policy:

    Q(y_<=t) = 1/N sum_n D(MC_n(y_<=t))    for t < T-1,    Q(y_<=T-1) = D(y).

Li et al. (2017) reuse it for dialogue ("REGS"). This module computes it in batch: the policy's state after every
prefix is computed once (`prefix_states`), and all (prefix, rollout) continuations advance together, so a call
makes `seq_len` sequential generator steps instead of `num_rollouts * seq_len^2`. Rows are ordered by prefix
length, so at step s only the rows whose prefix is shorter than s are advanced (a contiguous slice).

The policy must provide `prefix_states`, `step`, `index_state`, `cat_states`, `eos_id`, `pad_id` (as
`textgan.models.lstm.LSTMGenerator` does); a conditional generator binds its context first.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from textgan.masks import pad_after_eos
from textgan.sampling import inverse_cdf, sample_next

RewardFn = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def chunked(reward_fn: RewardFn, sequences: torch.Tensor, batch_size: int) -> torch.Tensor:
    """`reward_fn` over `[n, seq_len]` in chunks of `batch_size` rows -> `[n]` float32."""
    return torch.cat([reward_fn(c).float() for c in sequences.split(batch_size)])


@torch.no_grad()
def rollout_completions(policy, sequences: torch.Tensor, num_rollouts: int, temperature: float = 1.0) -> torch.Tensor:
    """Every Monte Carlo completion of every proper prefix of `sequences` `[batch, seq_len]`.

    Returns `[(seq_len - 1) * num_rollouts * batch, seq_len]` long: row `(t * num_rollouts + n) * batch + b` keeps
    `sequences[b, :t+1]` and continues with tokens sampled from `policy` (then `<pad>` after an `<eos>`).
    """
    b, t_len = sequences.shape
    r, eos, pad = num_rollouts, policy.eos_id, policy.pad_id
    states, next_logits = policy.prefix_states(sequences)
    row_b = torch.arange(b, device=sequences.device).repeat(r)  # batch index of each row of one prefix block
    completions = sequences[row_b].repeat(t_len - 1, 1)  # [(T-1)*R*B, T], prefixes already in place
    if eos is not None:
        ended = (sequences == eos).long().cumsum(dim=1) > 0  # [B, T]: an <eos> at or before t
        finished = ended[:, : t_len - 1].t()[:, row_b].reshape(-1)  # rows whose prefix already ended
    state = None
    block = r * b
    for s in range(1, t_len):
        # rows of prefix length s (t = s-1) join, starting from the state after their prefix; their first free
        # token: num_rollouts draws from each prefix's next-token distribution (no [R*B, vocab] copy)
        new_state = policy.index_state(states[s - 1], row_b)
        new_tok = inverse_cdf(next_logits[:, s - 1], temperature, num_samples=r).t().reshape(-1)  # row r*B + b
        n_old = (s - 1) * block
        if n_old:
            old_logits, old_state = policy.step(completions[:n_old, s - 1], state)
            tok = torch.cat([inverse_cdf(old_logits, temperature), new_tok])
            state = policy.cat_states([old_state, new_state])
        else:
            tok, state = new_tok, new_state
        n_active = n_old + block
        if eos is not None:
            fin = finished[:n_active]
            tok = tok.masked_fill(fin, pad)
            finished[:n_active] = fin | (tok == eos)
        completions[:n_active, s] = tok
    return completions


@torch.no_grad()
def mc_rewards(
    generator,
    reward_fn: RewardFn,
    sequences: torch.Tensor,
    num_rollouts: int,
    reward_batch_size: int = 2048,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Per-token rewards `[batch, seq_len]` (float32) for `sequences` `[batch, seq_len]` sampled from `generator`.

    Entry `[b, t]` is the mean of `reward_fn` over `num_rollouts` completions of `sequences[b, :t+1]` sampled from
    `generator` (the rollout policy); the last column is `reward_fn(sequences)`. `reward_fn` maps
    `[n, seq_len]` long to `[n]` (e.g. `CNNDiscriminator.prob_real`); it is called on chunks of at most
    `reward_batch_size` rows, under `torch.no_grad()` and whatever autocast the caller runs in.
    """
    if sequences.dim() != 2:
        raise ValueError(f"sequences must be [batch, seq_len], got shape {tuple(sequences.shape)}")
    if num_rollouts < 1:
        raise ValueError(f"num_rollouts must be >= 1, got {num_rollouts}")
    b, t_len = sequences.shape
    final = chunked(reward_fn, sequences, reward_batch_size)  # [B]
    if t_len == 1:
        return final[:, None]
    completions = rollout_completions(generator, sequences, num_rollouts, temperature)
    scores = chunked(reward_fn, completions, reward_batch_size)
    per_prefix = scores.view(t_len - 1, num_rollouts, b).mean(dim=1).t()  # [B, T-1]
    return torch.cat([per_prefix, final[:, None]], dim=1)


@torch.no_grad()
def update_rollout_policy(rollout_policy: torch.nn.Module, generator: torch.nn.Module, update_rate: float) -> None:
    """SeqGAN's delayed rollout network: `theta_roll <- update_rate * theta_roll + (1 - update_rate) * theta_G`."""
    for p_roll, p_gen in zip(rollout_policy.parameters(), generator.parameters()):
        p_roll.mul_(update_rate).add_(p_gen.detach(), alpha=1.0 - update_rate)


@torch.no_grad()
def mc_rewards_loop(generator, reward_fn: RewardFn, sequences: torch.Tensor, num_rollouts: int) -> torch.Tensor:
    """The original algorithm (SeqGAN's reference code), one rollout and one prefix at a time.

    For each rollout n and prefix length t+1: re-run the policy over the prefix, sample the rest, score the batch.
    Same result in distribution as `mc_rewards`, `num_rollouts * (seq_len - 1)` sequential passes of up to
    `seq_len` steps each; kept as the reference for tests and `experiments/bench_rollout.py`.
    """
    b, t_len = sequences.shape
    eos, pad = generator.eos_id, generator.pad_id
    rewards = torch.zeros(b, t_len)
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
