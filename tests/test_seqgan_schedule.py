"""The authors' discriminator schedule in method=seqgan: mixed, shuffled batches of positives and negatives with
labels per example, every example once per D epoch, ceil((P + N) / d_batch_size) updates per epoch, dropout during
D training only; and the rollout policy of the published numbers as the default."""

from functools import partial

import torch

from textgan.config.compose import compose
from textgan.data.vocab import Vocabulary
from textgan.methods.seqgan import SeqGAN
from textgan.models.cnn import CNNDiscriminator
from textgan.models.lstm import LSTMGenerator

V, T = 400, 5


def make_seqgan(positives: torch.Tensor, negatives: torch.Tensor, batches: int, **kw) -> tuple[SeqGAN, list]:
    """A SeqGAN without a Trainer whose D updates are recorded as (tokens, labels, D in training mode)."""
    vocab = Vocabulary([str(i) for i in range(V)], specials=())
    m = SeqGAN(vocab, partial(LSTMGenerator, embed_dim=4, hidden_dim=4),
               partial(CNNDiscriminator, embed_dim=4, filter_sizes=[1, 2], num_filters=[3, 3], dropout=0.25),
               seq_len=T, **{"fast_discriminator": False, **kw})  # the spy below watches D.forward
    opts = [torch.optim.SGD(m.generator.parameters(), lr=0.0), torch.optim.SGD(m.generator.parameters(), lr=0.0),
            torch.optim.SGD(m.discriminator.parameters(), lr=0.01)]
    m.optimizers = lambda: opts
    m.positive_examples = lambda: positives
    m.batches_per_epoch = lambda: batches
    m.generate = lambda n: negatives[:n]
    seen = []
    d_forward = m.discriminator.forward

    def spy(tokens):
        seen.append([tokens.clone(), None, m.discriminator.training])
        return d_forward(tokens)

    m.discriminator.forward = spy
    update = m.discriminator_update

    def d_update(tokens, labels, opt):
        seen.append([tokens.clone(), labels.clone(), None])
        return update(tokens, labels, opt)

    m.discriminator_update = d_update

    def step(opt, loss, clip=None):
        opt.zero_grad()
        loss.backward()
        opt.step()

    m.optimizer_step_with_clip = step
    return m, seen


def distinct_rows(n: int, offset: int) -> torch.Tensor:
    """`n` different sequences, told apart by their first two tokens (row i: offset + i // 20, i % 20)."""
    rows = torch.zeros(n, T, dtype=torch.long)
    rows[:, 0] = offset + torch.arange(n) // 20
    rows[:, 1] = torch.arange(n) % 20
    return rows


def run_round(m: SeqGAN, batches: int) -> None:
    """One Lightning epoch of the current phase (the real batches are not used by D's steps)."""
    for b in range(batches):
        m.training_step(torch.zeros(2, T, dtype=torch.long), b)


def d_updates(seen: list) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    """Pair each `discriminator_update` record with the discriminator call that follows it."""
    out = []
    for rec, nxt in zip(seen, seen[1:]):
        if rec[1] is not None and nxt[1] is None:
            assert torch.equal(rec[0], nxt[0])
            out.append((rec[0], rec[1], nxt[2]))
    return out


def test_a_d_epoch_covers_every_example_once_in_ceil_p_plus_n_over_batch_updates():
    torch.manual_seed(0)
    pos, neg = distinct_rows(150, 0), distinct_rows(100, 100)  # P = 150, N = 100: 250 / 64 -> 4 batches
    m, seen = make_seqgan(pos, neg, batches=3, g_pretrain_epochs=0, d_pretrain_rounds=1, d_epochs=2,
                          num_negatives=100)
    run_round(m, 3)
    updates = d_updates(seen)
    assert len(updates) == 2 * 4  # d_epochs x ceil((150 + 100) / 64), spread over the round's 3 batches
    assert [len(t) for t, _, _ in updates] == [64, 64, 64, 58] * 2
    truth = {tuple(r.tolist()): 1 for r in pos} | {tuple(r.tolist()): 0 for r in neg}
    for epoch in range(2):
        rows = [tuple(r.tolist()) for t, _, _ in updates[4 * epoch: 4 * epoch + 4] for r in t]
        assert sorted(rows) == sorted(truth)  # every example exactly once per epoch
    for tokens, labels, _ in updates:
        assert [truth[tuple(r.tolist())] for r in tokens] == labels.tolist()  # labels per example
        assert 0 < labels.sum() < len(labels)  # each batch mixes positives and negatives
    first = torch.cat([t for t, _, _ in updates[:4]])
    second = torch.cat([t for t, _, _ in updates[4:]])
    assert not torch.equal(first, second)  # each epoch in its own random order


def test_d_pool_size_and_num_negatives_and_max_d_batches_shorten_the_schedule():
    torch.manual_seed(1)
    pos, neg = distinct_rows(200, 0), distinct_rows(100, 100)
    m, seen = make_seqgan(pos, neg, batches=2, g_pretrain_epochs=0, d_pretrain_rounds=1, d_epochs=3,
                          d_pool_size=40, d_batch_size=16)
    run_round(m, 2)
    updates = d_updates(seen)
    assert len(updates) == 3 * 5  # (40 positives + 40 negatives) / 16 per epoch
    assert sum(int(lab.sum()) for _, lab, _ in updates) == 3 * 40 and m.d_round.pools[0].num_negatives == 40
    m, seen = make_seqgan(pos, neg, batches=2, g_pretrain_epochs=0, d_pretrain_rounds=1, d_epochs=3,
                          d_pool_size=40, d_batch_size=16, num_negatives=8, max_d_batches=2)
    run_round(m, 2)
    pool = m.d_round.pools[0]
    assert len(d_updates(seen)) == 3 * 2 and pool.num_negatives == 8 and pool.num_positives == 40


def test_adversarial_round_d_steps_pools_with_dropout_in_d_training_only():
    torch.manual_seed(2)
    pos, neg = distinct_rows(40, 0), distinct_rows(400, 100)
    m, seen = make_seqgan(pos, neg, batches=4, g_pretrain_epochs=0, d_pretrain_rounds=0, d_steps=3, d_epochs=2,
                          num_rollouts=2, adv_batch_size=4)
    reward_modes = []
    prob_real = m.discriminator.prob_real

    def spy_reward(tokens, *args, **kwargs):
        reward_modes.append(m.discriminator.training)
        return prob_real(tokens, *args, **kwargs)

    m.discriminator.prob_real = spy_reward
    m.reward = spy_reward  # SeqGAN binds its reward (here D.prob_real) when it is built
    m.generator.sample = lambda n, seq_len, **kw: neg[:n]
    m.train()
    run_round(m, 4)
    assert reward_modes and not any(reward_modes)  # rewards without dropout
    updates = d_updates(seen)
    assert len(m.d_round.pools) == 3 and len(updates) == 3 * 2 * 2  # d_steps x d_epochs x ceil(80 / 64)
    assert all(training for _, _, training in updates)  # D trains with dropout
    assert m.discriminator.training  # mode restored


def test_default_rollout_policy_is_the_one_behind_the_published_numbers():
    cfg = compose(["method=seqgan"]).method
    assert cfg.rollout_policy == "current" and cfg.d_batch_size == 64 and cfg.d_pool_size is None
    assert (cfg.d_steps, cfg.d_epochs, cfg.g_steps, cfg.rollout_update_rate) == (5, 3, 1, 0.8)


def test_an_adversarial_round_takes_its_g_steps_at_its_first_batch_only():
    """The G steps and the pools belong to the round's first batch; a round resumed after it (a mid-epoch
    checkpoint that Lightning continues: no pools in memory) draws its pools from the checkpoint's G and takes
    no second G step, then does the same share of D updates as that batch of an uninterrupted round."""
    pos, neg = distinct_rows(40, 0), distinct_rows(400, 100)
    resumed, seen = make_seqgan(pos, neg, batches=4, g_pretrain_epochs=0, d_pretrain_rounds=0, d_steps=2,
                                d_epochs=2, num_rollouts=2, adv_batch_size=4, g_steps=3)
    g_steps = []
    resumed.adversarial_generator_step = lambda opt: g_steps.append(opt)
    resumed.training_step(torch.zeros(2, T, dtype=torch.long), 2)  # the first batch this process sees
    assert not g_steps and len(resumed.d_round.pools) == 2 and len(resumed.d_round.pools[0].orders) == 2
    assert len(d_updates(seen)) == 2 * 2 * 2 // 4  # batch 2's share: updates 4..5 of the round's 8
    full, seen = make_seqgan(pos, neg, batches=4, g_pretrain_epochs=0, d_pretrain_rounds=0, d_steps=2,
                             d_epochs=2, num_rollouts=2, adv_batch_size=4, g_steps=3)
    full.adversarial_generator_step = lambda opt: g_steps.append(opt)
    run_round(full, 4)
    assert len(g_steps) == 3 and len(d_updates(seen)) == 2 * 2 * 2  # g_steps once, then every D update


def test_d_steps_zero_trains_g_only():
    pos, neg = distinct_rows(40, 0), distinct_rows(400, 100)
    m, seen = make_seqgan(pos, neg, batches=2, g_pretrain_epochs=0, d_pretrain_rounds=0, d_steps=0, g_steps=2,
                          num_rollouts=2, adv_batch_size=4)
    g_steps = []
    m.adversarial_generator_step = lambda opt: g_steps.append(opt)
    run_round(m, 2)
    assert len(g_steps) == 2 and not d_updates(seen) and not m.d_round.pools
