"""Generator, discriminator and oracle: shapes, masks, decoding, determinism."""

import torch

from textgan.models.cnn import SEQGAN_FILTER_SIZES, SEQGAN_NUM_FILTERS, CNNDiscriminator
from textgan.models.lstm import LSTMGenerator
from textgan.models.oracle import build_oracle
from textgan.models.recurrence import float32_recurrence


def test_generator_shapes_and_teacher_forcing_matches_steps():
    torch.manual_seed(0)
    g = LSTMGenerator(11, 6, 5)
    x = g.sample(4, 7)
    assert x.shape == (4, 7) and x.dtype == torch.long
    logits = g(x)
    assert logits.shape == (4, 7, 11)
    # step-by-step logits equal the teacher-forced ones
    state = g.init_state(4)
    lg, state = g.step(None, state)
    assert torch.allclose(lg, logits[:, 0], atol=1e-5)
    for t in range(6):
        lg, state = g.step(x[:, t], state)
        assert torch.allclose(lg, logits[:, t + 1], atol=1e-5)
    states, nxt = g.prefix_states(x)
    assert len(states) == 7 and torch.allclose(nxt[:, :-1], logits[:, 1:], atol=1e-5)
    lp = g.log_probs(x)
    assert lp.shape == (4, 7) and (lp <= 0).all()


def test_sampling_pads_after_eos_and_greedy_is_deterministic():
    torch.manual_seed(1)
    g = LSTMGenerator(5, 4, 4, pad_id=0, eos_id=1)
    with torch.no_grad():
        g.output.bias.copy_(torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0]))
    x = g.sample(64, 8)
    for row in x:
        hits = (row == 1).nonzero()
        if len(hits):
            assert (row[hits[0, 0] + 1 :] == 0).all()
    assert (x == 1).any()
    assert torch.equal(g.sample(3, 5, decode="greedy"), g.sample(3, 5, decode="greedy"))


def test_temperature_sharpens():
    torch.manual_seed(2)
    g = LSTMGenerator(20, 8, 8)
    with torch.no_grad():
        g.output.bias.copy_(torch.linspace(0, 3, 20))
    hot = g.sample(500, 3, temperature=5.0)
    cold = g.sample(500, 3, temperature=0.2)
    assert (cold == 19).float().mean() > (hot == 19).float().mean() + 0.3


def test_cnn_discriminator_paper_sizes_and_short_inputs():
    d = CNNDiscriminator(50)
    assert d.filter_sizes == SEQGAN_FILTER_SIZES and sum(c.out_channels for c in d.convs) == sum(SEQGAN_NUM_FILTERS)
    x = torch.randint(0, 50, (3, 20))
    assert d(x).shape == (3, 2)
    p = d.prob_real(torch.randint(0, 50, (3, 6)))  # shorter than the widest window (20): padded
    assert p.shape == (3,) and ((p > 0) & (p < 1)).all()
    assert d.l2_penalty().item() > 0


def test_oracle_is_deterministic_and_frozen():
    a, b = build_oracle(30, 8, 8, seed=5), build_oracle(30, 8, 8, seed=5)
    c = build_oracle(30, 8, 8, seed=6)
    for (n, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), n
        assert not torch.equal(pa, pc), n
        assert not pa.requires_grad
    # parameters ~ N(0, 1)
    w = torch.cat([p.flatten() for p in build_oracle(200, 32, 32, seed=0).parameters()])
    assert abs(w.mean().item()) < 0.02 and abs(w.std().item() - 1) < 0.02


def test_cnn_discriminator_state_dict_keys_are_those_of_older_checkpoints():
    """The parameter names and shapes are exactly those that existing discriminator checkpoints hold."""
    d = CNNDiscriminator(50, embed_dim=4, filter_sizes=(1, 3), num_filters=(2, 5))
    shapes = {k: tuple(v.shape) for k, v in d.state_dict().items()}
    assert shapes == {"embedding.weight": (50, 4), "convs.0.weight": (2, 4, 1), "convs.0.bias": (2,),
                      "convs.1.weight": (5, 4, 3), "convs.1.bias": (5,), "highway.weight": (14, 7),
                      "highway.bias": (14,), "output.weight": (2, 7), "output.bias": (2,)}


def test_float32_recurrence_under_bf16_autocast_is_the_float32_lstm():
    """A plain `nn.LSTM` on a float32 input under CPU bf16 autocast asks oneDNN for a bf16 LSTM, which CPUs
    without AVX-512 cannot build; `float32_recurrence` runs it in float32: exactly the call without autocast."""
    torch.manual_seed(0)
    lstm, gru = torch.nn.LSTM(5, 7, num_layers=2, batch_first=True), torch.nn.GRU(5, 7, batch_first=True)
    x, h0, c0 = torch.randn(3, 4, 5), torch.randn(2, 3, 7), torch.randn(2, 3, 7)
    out, (h, c) = lstm(x, (h0, c0))
    gru_out, gru_h = gru(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        a_out, (a_h, a_c) = float32_recurrence(lstm, x.bfloat16(), (h0.bfloat16(), c0))
        f_out, (f_h, f_c) = float32_recurrence(lstm, x, (h0, c0))
        g_out, g_h = float32_recurrence(gru, x)
    assert a_out.dtype == a_h.dtype == a_c.dtype == torch.float32
    assert torch.equal(f_out, out) and torch.equal(f_h, h) and torch.equal(f_c, c)
    assert torch.equal(g_out, gru_out) and torch.equal(g_h, gru_h)
    # bf16 inputs are cast up, not computed in bf16: the same as the float32 call on the rounded inputs
    assert torch.equal(a_out, lstm(x.bfloat16().float(), (h0.bfloat16().float(), c0))[0])
    assert torch.equal(float32_recurrence(lstm, x, (h0, c0))[0], out)  # no autocast: the plain call
