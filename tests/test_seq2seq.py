"""Seq2Seq with attention: attention weights sum to 1 over the real context tokens; padding never changes the
output; teacher-forced log-probs equal step-by-step decoding; bound policies keep states aligned with
contexts; the hierarchical discriminator ignores padding too; both run under CPU bf16 autocast on any CPU
(with or without AVX-512) and match float32 within bf16 precision."""

import pytest
import torch

from textgan.decoding import decode
from textgan.models.hierarchical import HierarchicalDiscriminator
from textgan.models.seq2seq import Seq2Seq

PAD, BOS, EOS, V = 0, 1, 2, 25


def _model(attention="luong", encoder_rnn="lstm", layers=1):
    torch.manual_seed(0)
    return Seq2Seq(V, 8, 12, num_layers=layers, attention=attention, encoder_rnn=encoder_rnn,
                   pad_id=PAD, bos_id=BOS, eos_id=EOS).eval()


def _batch():
    g = torch.Generator().manual_seed(1)
    context = torch.randint(3, V, (4, 7), generator=g)
    context[0, 3:] = PAD
    context[2, 5:] = PAD
    context[:, -1] = torch.where(context[:, -1] == PAD, PAD, EOS)
    response = torch.randint(3, V, (4, 6), generator=g)
    response[1, 2] = EOS
    response[1, 3:] = PAD
    return context, response


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_attention_weights_sum_to_one_over_real_context_tokens(attention):
    model = _model(attention)
    context, _ = _batch()
    memory = model.encode(context)
    query = torch.randn(4, 3, 12)
    ctx, weights = model.attend(query, memory)
    real = context != PAD
    assert weights.shape == (4, 3, 7)
    assert torch.allclose(weights.sum(-1), torch.ones(4, 3))
    assert (weights[~real.unsqueeze(1).expand_as(weights)] == 0).all()
    assert (weights[real.unsqueeze(1).expand_as(weights)] > 0).all()
    assert torch.allclose(ctx, torch.bmm(weights, memory.states))


@pytest.mark.parametrize("attention,encoder_rnn", [("luong", "lstm"), ("bahdanau", "lstm"), ("luong", "gru")])
def test_extra_context_padding_does_not_change_log_probs(attention, encoder_rnn):
    model = _model(attention, encoder_rnn, layers=2)
    context, response = _batch()
    padded = torch.cat([context, torch.full((4, 5), PAD)], dim=1)
    assert torch.allclose(model.log_probs(context, response), model.log_probs(padded, response), atol=1e-6)
    # ... while changing a real context token does change them
    changed = context.clone()
    changed[1, 0] = (changed[1, 0] + 1 - 3) % (V - 3) + 3
    diff = (model.log_probs(changed, response) - model.log_probs(context, response)).abs().sum(1)
    assert diff[1] > 1e-4 and torch.allclose(diff[[0, 2, 3]], torch.zeros(3))


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_teacher_forcing_equals_step_by_step_decoding(attention):
    model = _model(attention)
    context, response = _batch()
    teacher = model.log_probs(context, response)
    policy = model.bind(context)
    _, next_logits = policy.prefix_states(response)
    first, _ = policy.start()
    logits = torch.cat([first.unsqueeze(1), next_logits[:, :-1]], dim=1)
    stepwise = torch.log_softmax(logits, -1).gather(-1, response.unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(teacher, stepwise, atol=1e-5)


def test_bound_states_follow_their_context_rows():
    model = _model("bahdanau")
    context, response = _batch()
    policy = model.bind(context)
    states, _ = policy.prefix_states(response)
    perm = torch.tensor([3, 1, 0, 2, 3])
    picked = policy.index_state(states[2], perm)
    rows = torch.tensor([0, 1, 2, 3, 4, 2])  # rows of rows: the context rows still follow
    both = policy.index_state(picked, rows)
    logits, _ = policy.step(response[perm[rows], 3], both)
    reference, _ = policy.step(response[:, 3], states[2])
    assert torch.allclose(logits, reference[perm[rows]], atol=1e-6)


def test_teacher_forced_loss_trains_the_model():
    torch.manual_seed(0)
    model = Seq2Seq(V, 16, 32, pad_id=PAD, bos_id=BOS, eos_id=EOS)
    context, response = _batch()
    response = context[:, :6].clone()  # learn to copy the context
    response[response == PAD] = EOS
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        loss = -model.log_probs(context, response).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    assert loss.item() < 0.05
    assert torch.equal(decode(model.bind(context), 6, "greedy")[:, :3], response[:, :3])


def test_missing_special_tokens_and_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="<bos>"):
        Seq2Seq(V, pad_id=PAD, eos_id=EOS, bos_id=None)
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq(V, attention="dot", pad_id=PAD, eos_id=EOS, bos_id=BOS)
    with pytest.raises(ValueError, match="context must be"):
        _model().encode(torch.zeros(5, dtype=torch.long))


def test_hierarchical_discriminator_ignores_padding():
    torch.manual_seed(0)
    disc = HierarchicalDiscriminator(V, 8, 12, pad_id=PAD).eval()
    context, response = _batch()
    p = disc.prob_human(context, response)
    assert p.shape == (4,) and ((p > 0) & (p < 1)).all()
    more_pad = disc.prob_human(torch.cat([context, torch.zeros(4, 3, dtype=torch.long)], 1),
                               torch.cat([response, torch.zeros(4, 2, dtype=torch.long)], 1))
    assert torch.allclose(p, more_pad, atol=1e-6)
    swapped = disc.prob_human(response, context)  # order matters: (context, response) is a dialogue
    assert not torch.allclose(p, swapped)


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("attention,encoder_rnn", [("luong", "lstm"), ("bahdanau", "lstm"), ("luong", "gru")])
def test_bf16_autocast_forward_backward_matches_float32(attention, encoder_rnn):
    model = _model(attention, encoder_rnn, layers=2)
    context, response = _batch()
    reference = model.log_probs(context, response)
    reference.sum().backward()
    ref_grads = _grads(model)
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logp = model.log_probs(context, response)
        logp.sum().backward()
        _, next_logits = model.bind(context).prefix_states(response)
    grads = _grads(model)
    assert logp.dtype == torch.float32 and torch.isfinite(logp).all()
    # bf16 keeps 8 significant bits: a relative error of 2^-8 on logits of size ~4
    assert torch.allclose(logp, reference, atol=3e-2)
    assert torch.isfinite(next_logits).all()
    assert grads.keys() == ref_grads.keys()
    scale = max(g.abs().max() for g in ref_grads.values())  # some weights get almost no gradient: absolute
    for name, g in grads.items():
        assert torch.isfinite(g).all(), name
        assert torch.allclose(g, ref_grads[name], rtol=5e-2, atol=2e-2 * scale), name


def test_hierarchical_discriminator_under_bf16_autocast_matches_float32():
    torch.manual_seed(0)
    disc = HierarchicalDiscriminator(V, 8, 12, pad_id=PAD).eval()
    context, response = _batch()
    reference = disc.prob_human(context, response)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        p = disc.prob_human(context, response)
        p.sum().backward()
    assert p.dtype == torch.float32 and torch.allclose(p, reference, atol=2e-2)
    assert all(torch.isfinite(q.grad).all() for q in disc.parameters() if q.grad is not None)
