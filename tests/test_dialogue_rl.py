"""The RL chatbot (Li et al. 2016): each reward against a hand computation; the batched simulation alternates
speakers and feeds the right context window; the curricula; gradients reach the policy only; the paper's
distinct-n; simulated dialogue length; dialogues rebuilt from pairs (context_turns, backward);
`experiment=smoke_dialogue_rl` runs every phase, seeded runs are identical and a checkpoint resumes in its phase."""

import math

import pytest
import torch

from textgan.data.dialogue import DialogueDataModule
from textgan.data.dialogue_corpora import consecutive_pairs, pairs_to_tsv, rebuild_dialogues
from textgan.data.vocab import Vocabulary
from textgan.decoding import sample_decode
from textgan.dialogue.rewards import (
    combine,
    ease_of_answering,
    information_flow,
    mean_log_likelihood,
    semantic_coherence,
)
from textgan.dialogue.simulation import SimulationSettings, dialogue_length, pack_context, simulate, speaker
from textgan.methods.dialogue_rl import DialogueRL, prefix_length, simulated_turns
from textgan.metrics.diversity import distinct_n, distinct_n_per_token
from textgan.models.seq2seq import Seq2Seq
from textgan.runs.train import train

from conftest import compose_config, read_metrics

VOCAB = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(12)])
PAD, EOS = VOCAB.pad_id, VOCAB.eos_id


def _seq2seq(seed=0):
    torch.manual_seed(seed)
    return Seq2Seq(len(VOCAB), embed_dim=8, hidden_dim=8, pad_id=PAD, eos_id=EOS, bos_id=VOCAB.bos_id)


def _method(**kw):
    torch.manual_seed(0)
    gen = lambda **k: Seq2Seq(embed_dim=8, hidden_dim=8, **k)  # noqa: E731
    kw.setdefault("mle_epochs", 1)
    return DialogueRL(VOCAB, gen, seq_len=5, simulation=SimulationSettings(inputs=0, dull_responses=["w0 w1", "w2"]),
                      **kw)


def _stepwise_log_likelihood(model, context, target):
    """Reference: sum_t log p(y_t | y_<t, x) / N_y, one row at a time through the step-wise decoder."""
    out = []
    for i in range(len(context)):
        policy = model.bind(context[i: i + 1])
        logits, state = policy.start()
        total, n = 0.0, 0
        for tok in target[i].tolist():
            if tok == PAD:
                break
            total += torch.log_softmax(logits[0], -1)[tok].item()
            n += 1
            logits, state = policy.step(torch.tensor([tok]), state)
        out.append(total / n)
    return torch.tensor(out)


# ---------------------------------------------------------------------------------------------- rewards
class FixedScorer:
    """Stands in for a seq2seq scorer: log p of every target token is -(target id) / 10."""

    def log_probs(self, context, target):
        return -target.float() / 10


def test_ease_of_answering_is_minus_the_mean_normalised_dull_log_likelihood():
    turn = torch.tensor([[4, 5, EOS, PAD], [6, EOS, PAD, PAD]])
    dull = torch.tensor([[4, EOS, PAD], [5, 6, EOS]])  # N_s = 2 and 3 (with <eos>)
    r1 = ease_of_answering(FixedScorer(), turn, dull, PAD)
    ll_s1 = -(4 + EOS) / 10 / 2
    ll_s2 = -(5 + 6 + EOS) / 10 / 3
    expected = -(ll_s1 + ll_s2) / 2  # the same for every turn: FixedScorer ignores the context
    assert torch.allclose(r1, torch.tensor([expected, expected]))


def test_ease_of_answering_falls_when_the_dull_responses_get_likelier():
    model = _seq2seq()
    turn = torch.tensor([[4, 5, EOS, PAD], [6, 7, 8, EOS]])
    dull = torch.tensor([[4, 4, EOS], [9, EOS, PAD]])
    before = ease_of_answering(model, turn, dull, PAD)
    # matches the step-wise reference
    ref = torch.stack([_stepwise_log_likelihood(model, turn[[i, i]], dull) for i in range(2)])
    assert torch.allclose(before, -ref.mean(1), atol=1e-5)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(5):  # MLE on (turn -> dull response): the dull list gets likelier
        opt.zero_grad()
        (-mean_log_likelihood(model, turn.repeat_interleave(2, 0), dull.repeat(2, 1), PAD).mean()).backward()
        opt.step()
    after = ease_of_answering(model, turn, dull, PAD)
    assert (after < before).all()


def test_information_flow():
    h = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    assert torch.allclose(information_flow(h, h.clone()), torch.zeros(2), atol=1e-6)  # identical -> 0
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    assert torch.allclose(information_flow(a, b), torch.tensor([-math.log(1 / math.sqrt(2))]))
    # a non-positive cosine is clamped at min_cos: the largest reward, -log(min_cos)
    opposite = information_flow(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[-1.0, 0.0], [0.0, 1.0]]),
                                min_cos=0.05)
    assert torch.allclose(opposite, torch.full((2,), -math.log(0.05)))


def test_semantic_coherence_is_the_sum_of_the_two_normalised_log_likelihoods():
    forward, backward = _seq2seq(1), _seq2seq(2)
    context = torch.tensor([[4, 5, EOS], [6, EOS, PAD]])
    response = torch.tensor([[7, 8, EOS, PAD], [9, EOS, PAD, PAD]])
    response_ctx = torch.tensor([[7, 8, EOS], [9, EOS, PAD]])
    previous = torch.tensor([[4, 5, EOS], [6, EOS, PAD]])
    r3 = semantic_coherence(forward, backward, context, response, response_ctx, previous, PAD)
    expected = (_stepwise_log_likelihood(forward, context, response)
                + _stepwise_log_likelihood(backward, response_ctx, previous))
    assert torch.allclose(r3, expected, atol=1e-5)


def test_combine_weights_the_rewards():
    r = [torch.tensor([1.0, 2.0]), torch.tensor([4.0, 0.0]), torch.tensor([-2.0, 2.0])]
    assert torch.allclose(combine(r), torch.tensor([0.25 + 1 - 1, 0.5 + 0 + 1]))
    assert torch.allclose(combine([None, r[1], None], (0, 1, 0)), r[1])
    with pytest.raises(ValueError, match="all reward weights are 0"):
        combine(r, (0, 0, 0))


# ---------------------------------------------------------------------------------------------- simulation
def test_pack_context_concatenates_the_turns_and_keeps_the_last_tokens():
    a = torch.tensor([[4, 5, EOS, PAD], [6, EOS, PAD, PAD]])
    b = torch.tensor([[7, EOS, PAD, PAD], [8, 9, 10, EOS]])
    assert torch.equal(pack_context([a, b], 4, PAD, EOS), torch.tensor([[4, 5, 7, EOS, PAD], [6, 8, 9, 10, EOS]]))
    assert torch.equal(pack_context([a, b], 2, PAD, EOS, add_eos=False), torch.tensor([[5, 7], [9, 10]]))
    empty = torch.tensor([[EOS, PAD]])
    assert torch.equal(pack_context([empty], 3, PAD, EOS), torch.tensor([[EOS, PAD, PAD, PAD]]))


class RecordingAgent:
    """Answers every context with one new token (a counter), and remembers what it was asked."""

    def __init__(self, first_token):
        self.next, self.contexts = first_token, []

    def __call__(self, context):
        self.contexts.append(context.clone())
        out = torch.full((len(context), 3), PAD)
        out[:, 0] = self.next
        out[:, 1] = EOS
        self.next += 1
        return out


def test_simulation_alternates_speakers_and_feeds_the_context_window():
    start = torch.tensor([[4, EOS], [5, EOS]])
    agent_a, agent_b = RecordingAgent(6), RecordingAgent(11)
    sim = simulate([agent_a, agent_b], start, num_turns=4, context_turns=2, max_context_len=6, pad_id=PAD,
                   eos_id=EOS)
    assert [speaker(i) for i in range(5)] == [1, 0, 1, 0, 1]  # the input is B's; A answers it
    assert len(agent_a.contexts) == 2 and len(agent_b.contexts) == 2
    # turn tokens: 1: A says 6, 2: B says 11, 3: A says 7, 4: B says 12
    assert [t[0, 0].item() for t in sim.turns[1:]] == [6, 11, 7, 12]
    # context of turn i: turns i-2, i-1 (the last two), oldest first
    assert torch.equal(agent_a.contexts[0][0, :2], torch.tensor([4, EOS]))
    assert torch.equal(agent_b.contexts[0][:, :3], torch.tensor([[4, 6, EOS], [5, 6, EOS]]))
    assert torch.equal(agent_a.contexts[1][0, :3], torch.tensor([6, 11, EOS]))
    assert torch.equal(agent_b.contexts[1][0, :3], torch.tensor([11, 7, EOS]))
    assert all(torch.equal(c, agent) for c, agent in zip(
        sim.contexts, [agent_a.contexts[0], agent_b.contexts[0], agent_a.contexts[1], agent_b.contexts[1]]))


def test_dialogue_length_stops_at_a_dull_or_repeated_turn():
    dull = [["i", "don't", "know", "."]]
    go = [["hi"], ["hello", "there"], ["how", "are", "you"], ["fine", "thanks"], ["good", "bye"]]
    assert dialogue_length(go, dull) == 4
    assert dialogue_length(go[:2] + [["I", "don't", "know"]] + go[3:], dull) == 1  # dull: case, punctuation
    assert dialogue_length(go[:3] + [["Hello", "there", "!"]], dull) == 2  # A repeats its turn 1
    assert dialogue_length(go[:2] + [["hi"]], dull) == 1  # B repeats the input
    assert dialogue_length(go[:1] + [[]], dull) == 0  # an empty turn is dull


def test_distinct_n_per_token_is_the_papers_definition():
    responses = [["a", "b", "a"], ["a", "b"]]
    # bigrams: ab, ba, ab -> 2 distinct of 3 bigrams; 5 tokens
    assert distinct_n(responses, 2) == pytest.approx(2 / 3)
    assert distinct_n_per_token(responses, 2) == pytest.approx(2 / 5)
    assert distinct_n_per_token(responses, 1) == pytest.approx(2 / 5) == distinct_n(responses, 1)
    assert distinct_n_per_token([[]], 1) == 0.0


def test_sampling_continues_a_prefix():
    model = _seq2seq()
    context = torch.tensor([[4, 5, EOS]] * 3)
    prefix = torch.tensor([[6, 7], [8, EOS], [9, 10]])
    out = sample_decode(model.bind(context), 5, prefix=prefix)
    assert torch.equal(out[:, :2], prefix)
    assert torch.equal(out[1, 2:], torch.full((3,), PAD))  # the prefix already ended


# ---------------------------------------------------------------------------------------------- the method
def test_curricula_follow_the_schedule():
    assert [prefix_length(s, 3, 2) for s in range(9)] == [3, 3, 2, 2, 1, 1, 0, 0, 0]
    assert [simulated_turns(s, 2, 5, 3) for s in range(13)] == [2] * 3 + [3] * 3 + [4] * 3 + [5] * 4


def _logging_off(method):
    method.log = lambda *a, **k: None
    method.optimizer_step_with_clip = lambda opt, loss: (opt.zero_grad(), loss.backward(), opt.step())


def test_rl_steps_change_the_policy_only():
    method = _method(prefix_start=2, prefix_anneal_every=1, turns_start=2, turns_max=3)
    _logging_off(method)
    method.freeze_scorers()
    assert torch.equal(method.forward_scorer.output.weight, method.generator.output.weight)  # a copy of G
    scorers = {k: v.clone() for k, v in method.state_dict().items() if k.startswith(("forward_", "backward_"))}
    policy = {k: v.clone() for k, v in method.generator.state_dict().items()}
    opt = torch.optim.SGD(method.generator.parameters(), lr=0.1)
    context = torch.tensor([[4, 5, EOS, PAD], [6, EOS, PAD, PAD], [7, 8, 9, EOS]])
    response = torch.tensor([[10, 11, EOS, PAD, PAD], [12, EOS, PAD, PAD, PAD], [4, 4, 4, 4, EOS]])
    method.mmi_step(context, response, opt)
    method.simulation_step(context, opt)
    for name, p in list(method.forward_scorer.named_parameters()) + list(method.backward_model.named_parameters()):
        assert p.grad is None and not p.requires_grad, name
    assert all(torch.equal(v, method.state_dict()[k]) for k, v in scorers.items())
    assert any(not torch.equal(v, method.generator.state_dict()[k]) for k, v in policy.items())
    assert int(method.mmi_steps) == 1 and int(method.simulation_steps) == 1


def test_simulated_turn_rewards_match_the_reward_functions():
    method = _method(reward_weights=(0.25, 0.25, 0.5))
    method.freeze_scorers()
    context = torch.tensor([[4, 5, EOS, PAD, PAD, PAD], [6, EOS, PAD, PAD, PAD, PAD]])
    torch.manual_seed(3)
    sim = method.simulate_dialogues(context, 3, "sample")
    rewards, parts = method.turn_rewards(sim)
    assert rewards.shape == (2, 3)
    fwd, bwd = method.forward_scorer, method.backward_model
    for i in (1, 2, 3):
        turn = method.as_context(sim.turns[i])
        r1 = ease_of_answering(fwd, turn, method.dull_ids(), PAD)
        h_prev = fwd.encode(method.as_context(sim.turns[i - 2])).final[0][-1] if i > 1 else None
        r2 = torch.zeros(2) if i == 1 else information_flow(h_prev, fwd.encode(turn).final[0][-1])
        r3 = semantic_coherence(fwd, bwd, sim.contexts[i - 1], sim.turns[i], turn,
                                method.as_target(sim.turns[i - 1]), PAD)
        assert torch.allclose(rewards[:, i - 1], 0.25 * r1 + 0.25 * r2 + 0.5 * r3, atol=1e-5)


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="backward model p\\(q \\| a\\) needs training"):
        _method(mle_epochs=0)
    with pytest.raises(ValueError, match="reward_weights must be three numbers"):
        _method(reward_weights=(1.0, 0.0))


# ---------------------------------------------------------------------------------------------- data
def test_dialogues_are_rebuilt_and_windowed(tmp_path):
    dialogues = [["a b", "c", "d e", "f"], ["g", "h"], ["c", "x"]]
    pairs = [p for d in dialogues for p in consecutive_pairs(d)]
    assert rebuild_dialogues(pairs) == dialogues
    path = tmp_path / "pairs.tsv"
    path.write_text(pairs_to_tsv(pairs))

    def examples(**kw):
        dm = DialogueDataModule(str(tmp_path), corpus="file", path=str(path), test_path=str(path), **kw)
        dm.setup()
        ctx = [dm.vocab.to_text(r) for r in dm.train_contexts_ids.tolist()]
        resp = [dm.vocab.to_text(r) for r in dm.train_responses_ids.tolist()]
        return list(zip(ctx, resp)), dm.vocab

    one, vocab1 = examples()
    assert one == pairs
    two, vocab2 = examples(context_turns=2)
    assert two == [("a b", "c"), ("a b c", "d e"), ("c d e", "f"), ("g", "h"), ("c", "x")]
    back, vocab3 = examples(direction="backward")
    assert back == [(r, c) for c, r in pairs]
    assert vocab1 == vocab2 == vocab3  # forward, backward and multi-turn models share one vocabulary
    with pytest.raises(ValueError, match="set data.context_turns=1"):
        DialogueDataModule(str(tmp_path), direction="backward", context_turns=2)


# ---------------------------------------------------------------------------------------------- end to end
SMOKE = ["experiment=smoke_dialogue_rl",
         "data.max_train_pairs=64", "method.simulation.inputs=4"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    from conftest import shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("TEXTGAN_DATA is not set: the dialogue smoke runs read the shared chatterbot corpus")
    out = tmp_path_factory.mktemp("rl")
    train(compose_config([*SMOKE, "seed=3", "test=false"], out))
    return out


def test_smoke_runs_every_phase(smoke_run):
    m = read_metrics(smoke_run)
    assert {int(p) for p in m["progress/phase"]} == {0, 1, 2}
    for name in ("train/g_mle_loss", "train/backward_mle_loss", "train/mmi_reward", "train/dialogue_return",
                 "train/reward_r1", "train/reward_r2", "train/reward_r3", "val/sim_length",
                 "val/distinct_2_per_token", "val/bleu2", "val/nll_test"):
        assert m.get(name), name
    # 64 pairs / batch 32 = 2 steps per phase: L = max(0, 2 - step) -> 2, 1; turns = min(3, 2 + step) -> 2, 3
    assert m["train/prefix_len"] == [2.0, 1.0] and m["train/sim_turns"] == [2.0, 3.0]
    assert all(0 <= v <= 4 for v in m["val/sim_length"])


def test_seeded_runs_are_identical(smoke_run, tmp_path):
    train(compose_config([*SMOKE, "seed=3", "test=false"], tmp_path))
    a, b = read_metrics(smoke_run), read_metrics(tmp_path)
    for name in ("train/mmi_reward", "train/dialogue_return", "val/sim_length", "val/nll_test"):
        assert a[name] == b[name], name


def test_checkpoint_resumes_in_the_right_phase(smoke_run, tmp_path):
    train(compose_config([*SMOKE, "test=false", "trainer.max_epochs=2", "eval_every=100"], tmp_path / "a"))
    ckpt_file = tmp_path / "a" / "checkpoints" / "last.ckpt"
    ckpt = torch.load(ckpt_file, weights_only=True)
    assert ckpt["phase"] == "mmi" and int(ckpt["state_dict"]["mmi_steps"]) == 2
    assert bool(ckpt["state_dict"]["scorers_frozen"])
    train(compose_config([*SMOKE, "test=false", "eval_every=100", f"ckpt_path={ckpt_file}"], tmp_path / "b"))
    m = read_metrics(tmp_path / "b")
    assert set(m["progress/phase"]) == {2} and not m.get("train/mmi_reward")
    final = torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    for k, v in ckpt["state_dict"].items():  # the frozen scorers came through the resume unchanged
        if k.startswith(("forward_scorer.", "backward_model.")):
            assert torch.equal(v, final[k]), k
    assert int(final["simulation_steps"]) == 2 and int(final["mmi_steps"]) == 2
