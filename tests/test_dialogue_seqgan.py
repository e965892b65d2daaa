"""Adversarial dialogue (Li et al. 2017): REGS rewards keep the response prefix and the right context;
Adver-Reinforce gives the whole-response reward everywhere; the running-mean baseline; teacher forcing gives a
gradient on the human response; AdverSuc's evaluator; the smoke presets run seq2seq and dialogue_seqgan (both
rewards) on chatterbot data, and a seq2seq checkpoint starts dialogue_seqgan."""

import csv

import pytest
import torch

from textgan.data.vocab import Vocabulary
from textgan.methods.dialogue_seqgan import DialogueSeqGAN
from textgan.metrics.adversuc import adversarial_success, train_evaluator
from textgan.models.hierarchical import HierarchicalDiscriminator
from textgan.models.seq2seq import Seq2Seq
from textgan.runs.train import train

from conftest import compose_config

VOCAB = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(12)])
PAD, EOS = VOCAB.pad_id, VOCAB.eos_id


def _method(reward="regs", **kw):
    torch.manual_seed(0)
    gen = lambda **k: Seq2Seq(embed_dim=8, hidden_dim=8, **k)  # noqa: E731
    disc = lambda **k: HierarchicalDiscriminator(embed_dim=8, hidden_dim=8, **k)  # noqa: E731
    return DialogueSeqGAN(VOCAB, gen, disc, seq_len=5, reward=reward, **kw)


def _contexts(b=3):
    context = torch.arange(4, 4 + b).unsqueeze(1).repeat(1, 4)  # rows identifiable by their tokens
    context[:, -1] = EOS
    return context


class RecordingDiscriminator(torch.nn.Module):
    """Stands in for D: remembers every (context, response) it scores and returns a fixed function of them."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def prob_human(self, context, response):
        self.calls.append((context.clone(), response.clone()))
        return (response == context[:, :1]).float().mean(1)


def test_regs_rewards_keep_the_prefix_and_the_context():
    method = _method(num_rollouts=2, reward_batch_size=4)  # chunks of 3 rows: exercises the alignment
    method.discriminator = RecordingDiscriminator()
    context = _contexts(3)
    responses = method.sample_responses(context)
    rewards = method.rewards(context, responses)
    b, t_len, r = 3, responses.shape[1], 2
    assert rewards.shape == (b, t_len)
    final_ctx, final_resp = method.discriminator.calls[0]  # mc_rewards scores the sequences first
    assert torch.equal(final_ctx, context) and torch.equal(final_resp, responses)
    ctx = torch.cat([c for c, _ in method.discriminator.calls[1:]])
    comp = torch.cat([y for _, y in method.discriminator.calls[1:]])
    assert len(comp) == (t_len - 1) * r * b
    for i in range(len(comp)):
        t, j = i // (r * b), i % b
        assert torch.equal(ctx[i], context[j])  # scored with its own context
        assert torch.equal(comp[i, : t + 1], responses[j, : t + 1])  # the completion keeps the prefix y_<=t
    expected_last = (responses == context[:, :1]).float().mean(1)
    assert torch.allclose(rewards[:, -1], expected_last)


def test_sequence_reward_is_the_whole_response_score_at_every_position():
    method = _method("sequence")
    method.discriminator = RecordingDiscriminator()
    context = _contexts(3)
    responses = method.sample_responses(context)
    rewards = method.rewards(context, responses)
    assert len(method.discriminator.calls) == 1
    assert torch.allclose(rewards, (responses == context[:, :1]).float().mean(1, keepdim=True).expand(3, 5))


@pytest.mark.parametrize("reward", ["regs", "sequence"])
def test_rewards_are_scored_with_d_in_eval_mode_and_its_mode_is_restored(reward):
    method = _method(reward, num_rollouts=2)
    method.discriminator = RecordingDiscriminator()
    modes = []
    score = method.discriminator.prob_human
    method.discriminator.prob_human = lambda c, r: modes.append(method.discriminator.training) or score(c, r)
    method.train()
    context = _contexts(3)
    method.rewards(context, method.sample_responses(context))
    assert modes and not any(modes)  # no dropout in the rewards
    assert method.discriminator.training


def test_running_mean_baseline():
    method = _method(baseline_decay=0.5)
    mask = torch.tensor([[True, True], [True, False]])
    first = method.advantages(torch.tensor([[1.0, 0.2], [0.0, 9.0]]), mask)
    # first batch: b = its own means (0.5, 0.2); masked entries do not count
    assert torch.allclose(first, torch.tensor([[0.5, 0.0], [-0.5, 8.8]]))
    assert torch.allclose(method.reward_baseline[:2], torch.tensor([0.5, 0.2]))
    second = method.advantages(torch.tensor([[1.0, 1.0], [1.0, 1.0]]), mask)
    assert torch.allclose(second, torch.tensor([[0.5, 0.8], [0.5, 0.8]]))  # uses b before this batch
    assert torch.allclose(method.reward_baseline[:2], torch.tensor([0.75, 0.6]))
    assert torch.allclose(_method(baseline="none").advantages(torch.ones(2, 2), mask), torch.ones(2, 2))


def test_teacher_forcing_gives_a_gradient_on_the_human_response():
    context = _contexts(3)
    human = torch.tensor([[5, 6, EOS, PAD, PAD], [7, EOS, PAD, PAD, PAD], [8, 9, 10, 11, EOS]])
    method = _method(teacher_forcing_weight=0.5)
    method.teacher_forcing_loss(context, human).backward()
    grads = [p.grad.clone() for p in method.generator.parameters()]
    assert any(g.abs().sum() > 0 for g in grads)
    # = 0.5 x the gradient of the human responses' NLL (summed over tokens, mean over pairs)
    method.generator.zero_grad()
    logp = method.generator.log_probs(context, human)
    (-0.5 * (logp * (human != PAD)).sum(1).mean()).backward()
    for g, p in zip(grads, method.generator.parameters()):
        assert torch.allclose(g, p.grad, atol=1e-6)
    # and one step on it makes the human responses more likely
    before = logp.detach()[human != PAD].sum()
    opt = torch.optim.SGD(method.generator.parameters(), lr=0.5)
    opt.zero_grad()
    method.teacher_forcing_loss(context, human).backward()
    opt.step()
    after = method.generator.log_probs(context, human).detach()[human != PAD].sum()
    assert after > before


def test_bad_reward_option_is_a_clear_error():
    with pytest.raises(ValueError, match="method.reward must be one of"):
        _method("per_token")


def test_adversuc_evaluator_separates_easy_cases():
    torch.manual_seed(0)
    n = 200
    context = torch.randint(4, 16, (n, 4))
    human = torch.randint(4, 10, (n, 5))  # "human" responses use words w0..w5, "machine" ones w6..w11
    machine = torch.randint(10, 16, (n, 5))
    evaluator, report = train_evaluator(len(VOCAB), PAD, context, human, machine, epochs=10, embed_dim=8,
                                        hidden_dim=8, lr=0.03, holdout=0.2)
    assert report.num_holdout == 40 and report.accuracy > 0.9
    assert adversarial_success(evaluator, context, human) > 0.9
    assert adversarial_success(evaluator, context, machine) < 0.1


def _metrics(out) -> dict[str, list[float]]:
    """Logged values per metric name (empty cells skipped)."""
    with open(out / "csv" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows if r.get(k)] for k in rows[0]}


SMOKE = ["data=dialogue", "data.corpus=chatterbot_en"]


@pytest.fixture(scope="module")
def seq2seq_run(tmp_path_factory, request):
    from conftest import shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("TEXTGAN_DATA is not set: the dialogue smoke runs read the shared chatterbot corpus")
    out = tmp_path_factory.mktemp("seq2seq")
    train(compose_config(["experiment=smoke_seq2seq", *SMOKE], out))
    return out


def test_smoke_seq2seq_on_chatterbot(seq2seq_run):
    m = _metrics(seq2seq_run)
    names = ("val/nll_test", "val/bleu2", "val/distinct_1", "val/distinct_2", "val/avg_len", "test/bleu4")
    for name in names:
        assert m.get(name), name
    samples = next((seq2seq_run / "samples").glob("samples_val_*.txt")).read_text().splitlines()
    assert samples and all(" | human: " in s and " | generated: " in s for s in samples)


@pytest.mark.parametrize("reward", ["regs", "sequence"])
def test_smoke_dialogue_seqgan_on_chatterbot(reward, tmp_path, seq2seq_run):
    train(compose_config(["experiment=smoke_dialogue_seqgan", f"method.reward={reward}", *SMOKE], tmp_path))
    m = _metrics(tmp_path)
    assert {int(p) for p in m["progress/phase"]} == {0, 1, 2}
    names = ("train/g_pg_loss", "train/d_loss", "train/g_teacher_forcing_loss", "val/bleu2", "test/avg_len")
    for name in names:
        assert m.get(name), name
    assert m["train/mean_reward"] and all(0 < r < 1 for r in m["train/mean_reward"])


def test_seq2seq_checkpoint_starts_dialogue_seqgan(tmp_path, seq2seq_run):
    ckpt = seq2seq_run / "checkpoints" / "last.ckpt"
    train(compose_config(["experiment=smoke_dialogue_seqgan", *SMOKE, "method.g_pretrain_epochs=0",
                          "method.adversarial_epochs=0", f"method.pretrained_ckpt={ckpt}", "test=false"],
                         tmp_path))
    pre = torch.load(ckpt, weights_only=True)["state_dict"]
    post = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    gen_keys = [k for k in pre if k.startswith("generator.")]
    assert gen_keys and all(torch.equal(pre[k], post[k]) for k in gen_keys)  # D pre-training leaves G alone
