"""Defaults written once: a method config names what differs from its constructor's signature, and the composed
config holds every setting with the signature's value (`textgan.config.defaults`)."""

import inspect

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from textgan.config.compose import CONF_DIR, compose
from textgan.config.defaults import defaults_node, factory_node
from textgan.config.validate import check_overrides, group_options
from textgan.errors import ConfigError
from textgan.methods.gumbel_gan import GumbelGAN
from textgan.optim import adam


def test_the_composed_seqgan_config_holds_the_signatures_defaults():
    node = OmegaConf.to_container(compose(["method=seqgan"]).method)
    assert node["g_pretrain_epochs"] == 120 and node["adversarial_rounds"] == 200 and node["d_pool_size"] is None
    assert node["rollout_policy"] == "current" and node["rollout_update_rate"] == 0.8
    assert node["g_pretrain_optimizer"] == {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.01}
    assert node["d_optimizer"] == {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-4}
    assert node["_target_"] == "textgan.methods.seqgan.SeqGAN" and node["seq_len"] == "${data.seq_len}"
    assert node["generator"]["_target_"] == "textgan.models.lstm.LSTMGenerator"


@pytest.mark.parametrize("method", group_options("method"))
def test_every_setting_with_a_default_is_in_the_composed_config(method):
    """The keys of the composed method node: the constructor's parameters but the vocabulary (the data's)."""
    node = compose([f"method={method}"]).method
    params = set(inspect.signature(get_object(node._target_)).parameters) - {"vocab"}
    assert set(node) - {"_target_"} == params


def test_an_override_needs_no_plus_and_a_mistake_gets_one_line():
    cfg = compose(["method=seqgan", "method.g_pretrain_epochs=5", "method.d_optimizer.lr=0.5"])
    assert cfg.method.g_pretrain_epochs == 5 and cfg.method.d_optimizer.lr == 0.5
    with pytest.raises(ConfigError, match=r"^method.num_rollouts=0 is out of range; give an integer >= 1$"):
        check_overrides(["method=seqgan", "method.num_rollouts=0"])
    with pytest.raises(ConfigError, match=r"^unknown config key 'method.g_pretrain_epoch' \(did you mean "
                                          r"g_pretrain_epochs\?\)"):
        check_overrides(["method=seqgan", "method.g_pretrain_epoch=3"])


def test_what_differs_from_the_signature_stays_in_the_yaml():
    """Gumbel GAN's D optimiser follows G's settings (an interpolation in its yaml), the signature's values
    otherwise."""
    cfg = compose(["method=gumbel_gan", "method.g_optimizer.lr=0.5"])
    d = OmegaConf.to_container(cfg.method.d_optimizer, resolve=True)
    assert d == {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.5, "betas": [0.5, 0.999]}
    assert "d_optimizer:" in (CONF_DIR / "method" / "gumbel_gan.yaml").read_text()
    assert "tau_start" not in (CONF_DIR / "method" / "gumbel_gan.yaml").read_text()
    assert compose(["method=gumbel_gan"]).method.tau_start == 5.0


def test_factory_node_keeps_the_learning_rate_and_what_differs_from_the_optimisers_defaults():
    assert factory_node(adam(lr=1e-3)) == {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3}
    assert factory_node(adam(lr=0.1, betas=(0.5, 0.9))) == {"_target_": "torch.optim.Adam", "_partial_": True,
                                                            "lr": 0.1, "betas": [0.5, 0.9]}
    node = defaults_node(GumbelGAN)
    assert node["epochs"] == 50 and node["tau_min"] == 0.5 and "generator" not in node and "vocab" not in node


def test_a_network_config_takes_its_constructors_defaults_but_the_vocabularys_ids():
    node = OmegaConf.to_container(compose(["method=seqgan"]).method.generator)
    assert node == {"_target_": "textgan.models.lstm.LSTMGenerator", "embed_dim": 32, "hidden_dim": 32,
                    "num_layers": 1, "init": "pytorch", "start_token": None, "_partial_": True}
    cfg = compose(["method=wgan_gp", "data=char_text", "method.generator.dim=64"])
    assert cfg.method.critic.dim == 64  # the critic's sizes follow the generator's (its yaml's interpolations)


def test_a_config_composed_without_registering_still_composes(tmp_path):
    """An app of one's own over textgan's conf/ that does not call `register`: the settings its configs do not
    name are left to the constructors' defaults."""
    import subprocess
    import sys

    code = ("from hydra import compose, initialize_config_dir\n"
            f"with initialize_config_dir(version_base='1.3', config_dir='{CONF_DIR}'):\n"
            "    print(sorted(compose('config', overrides=['method=mle']).method))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "['_target_', 'generator', 'seq_len']"
