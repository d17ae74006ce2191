"""Privacy settings are typed and checked at load: an impossible one names the value and why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from federated.config import ConfigError, FederatedConfig, PrivacyConfig, resolve
from tests.conftest import compose_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["user_dp", "local_dp", "both", "none"])
def test_every_privacy_option_loads(mode):
    cfg = compose_config("simulate", [f"privacy={mode}"])
    p = instantiate(cfg.privacy, _convert_="all")
    assert isinstance(p, PrivacyConfig) and p.mode == mode
    assert p.local_dp == (mode in ("local_dp", "both")) and p.user_dp == (
        mode in ("user_dp", "both")
    )


def test_dp_is_the_default_and_both_server_optimizers_load():
    cfg = compose_config("simulate")
    assert instantiate(cfg.privacy, _convert_="all").mode == "user_dp"
    for option in ("default", "fedadam"):
        fed = instantiate(compose_config("simulate", [f"federated={option}"]).federated)
        assert isinstance(fed, FederatedConfig)


@pytest.mark.parametrize(
    "override, words",
    [
        ("privacy.user.noise_multiplier=-1", "privacy.user.noise_multiplier=-1"),
        ("privacy.local.max_grad_norm=0", "privacy.local.max_grad_norm=0"),
        ("privacy.delta=1", "privacy.delta=1"),
        ("privacy.delta=1.5", "promises nothing"),
        ("privacy.mode=secret", "must be one of"),
        ("privacy.user.clipping=both", "server or client"),
        ("+privacy.user.noise=2", "unknown UserDP setting"),
        ("federated.server=sgd", "fedavg or fedadam"),
        ("federated.faults.dropout=2", "federated.faults.dropout=2"),
        ("federated.negatives=all", "labelled, false_wakes, none"),
        ("federated.false_wake_threshold=1.5", "must be in (0, 1)"),
        ("federated.labels=whisper", "federated.labels='whisper': must be one of truth, teacher"),
        ("federated.teacher=large", "federated.teacher='large': must be tiny.en or base"),
        ("federated.teacher_min_confidence=1.5", "must be in [0, 1)"),
        ("federated.corrections=review.jsonl", "set federated.labels=teacher"),
        ("federated.select=first", "federated.select='first': must be one of last, best"),
        ("federated.select=best federated.local_val_share=0.7", "must be in (0, 0.66)"),
        ("federated.select_every=0", "federated.select_every=0: must be an integer >= 1"),
        ("federated.select_max_central_loss=-0.1", "must be in [0, 1]"),
        ("federated.select_noise=-1", "federated.select_noise=-1: must be >= 0"),
        ("federated.select_noise=2", "needs federated.select=best"),
    ],
)
def test_impossible_settings_fail_at_load(override, words):
    cfg = compose_config("simulate", override.split())
    with pytest.raises((ConfigError, InstantiationException)) as info:
        instantiate(cfg.privacy, _convert_="all")
        instantiate(cfg.federated, _convert_="all")
    assert words in str(info.value.__cause__ or info.value)


def test_settings_that_this_population_cannot_meet():
    fed = FederatedConfig(rounds=20, devices_per_round=10)
    with pytest.raises(ConfigError, match=r"target_epsilon=0.001.*cannot be reached"):
        resolve(PrivacyConfig(user={"target_epsilon": 1e-3}), fed, 100, 20)
    with pytest.raises(ConfigError, match="below 1 / devices"):
        resolve(PrivacyConfig(delta=0.05), fed, 100, 20)
    with pytest.raises(ConfigError, match=r"max_epsilon=0\.01: one round"):
        resolve(PrivacyConfig(max_epsilon=0.01), fed, 100, 20)
    with pytest.raises(ConfigError, match="only 5 devices"):
        resolve(PrivacyConfig(), fed, 5, 20)
    z = resolve(PrivacyConfig(user={"target_epsilon": 8.0}), fed, 100, 20).user_noise
    assert 0 < z < 2


def test_a_private_round_choice_is_inside_the_user_level_epsilon():
    from federated.accounting import Release, epsilon
    from federated.config import scored_rounds

    fed = FederatedConfig(rounds=5, devices_per_round=20, select="best", select_noise=4.0)
    assert scored_rounds(fed) == [0, 1, 2, 3, 4, 5]
    assert scored_rounds(FederatedConfig(rounds=5, select="best", select_every=2)) == [0, 2, 4, 5]
    plain = resolve(PrivacyConfig(user={"target_epsilon": 8.0}), FederatedConfig(rounds=5), 100, 20)
    r = resolve(PrivacyConfig(user={"target_epsilon": 8.0}), fed, 100, 20)
    assert r.select_noise == 4.0 and r.user_noise > plain.user_noise  # the choice costs noise
    spent = epsilon([Release(r.user_noise, 0.2, 5), *r.select_release(6)], 1e-3)
    assert 7.9 < spent <= 8.0
    with pytest.raises(ConfigError, match="needs privacy=user_dp or both"):
        resolve(PrivacyConfig(mode="none"), fed, 100, 20)
    tight = FederatedConfig(rounds=5, devices_per_round=20, select="best", select_noise=0.5)
    with pytest.raises(ConfigError, match="the other releases alone spend"):
        resolve(PrivacyConfig(user={"target_epsilon": 2.0}), tight, 100, 20)


def test_the_simulate_command_gives_one_line_for_an_impossible_setting():
    run = subprocess.run(
        [sys.executable, "-m", "federated.simulate", "data=tiny", "privacy.delta=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "privacy.delta=1" in last


def test_pseudo_labels_are_for_the_recognizer_only():
    from federated.simulate import spec_from_config

    cfg = compose_config("simulate", ["task=kws", "federated.labels=teacher", "data=tiny"])
    with pytest.raises(ConfigError) as info:
        spec_from_config(cfg)
    assert "federated.labels=teacher: pseudo-labels are transcripts, for task=asr" in str(
        info.value
    ) and "\n" not in str(info.value)
    cfg = compose_config(
        "simulate",
        ["task=asr", "federated.labels=teacher", "federated.corrections=/nowhere.jsonl"],
    )
    with pytest.raises(ValueError, match=r"federated.corrections=/nowhere.jsonl: no such file"):
        spec_from_config(cfg)
