"""Federated runs in Flower's simulation engine on the tiny corpus, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.utils import instantiate

from federated.accounting import epsilon
from federated.ledger import format_device, read, recompute
from tests.conftest import compose_config

ROOT = Path(__file__).resolve().parents[2]


def _spec(tiny_corpus, tmp_path, overrides):
    from federated.simulate import spec_from_config

    out, _ = tiny_corpus
    cfg = compose_config(
        "simulate",
        [
            "data=tiny",
            "data@central=tiny",
            f"out_root={out.parent}",
            f"out_dir={tmp_path / 'run'}",
            "progress=false",
            *overrides,
        ],
    )
    assert instantiate(cfg.data, _convert_="all").digest() in out.name
    return spec_from_config(cfg)


@pytest.fixture(scope="module")
def local_dp_run(tiny_corpus, tmp_path_factory):
    """Local DP with a budget, drop-outs, corrupt updates and an empty device."""
    from federated.simulate import simulate

    tmp = tmp_path_factory.mktemp("fed")
    spec = _spec(
        tiny_corpus,
        tmp,
        [
            "privacy=local_dp",
            "privacy.local.batch_size=2",
            "privacy.local.noise_multiplier=1.0",
            "privacy.max_epsilon=6",
            "federated.local_epochs=1",
            "federated.rounds=4",
            "federated.devices_per_round=5",
            "federated.faults.dropout=0.15",
            "federated.faults.corrupt=0.4",
            "federated.faults.empty_devices=1",
        ],
    )
    return simulate(spec), Path(spec.out_dir)


def test_faults_never_stop_a_run_and_are_counted(local_dp_run):
    summary, run = local_dp_run
    c = summary["counts"]
    assert summary["rounds_run"] == 4 and summary["devices"] == 6
    assert c["accepted"] > 0 and c["no_data"] > 0 and c["dropped"] > 0 and c["rejected"] > 0
    assert c["sampled"] == sum(
        c[k]
        for k in (
            "accepted",
            "dropped",
            "error",
            "timed_out",
            "rejected",
            "no_data",
            "budget_exhausted",
        )
    )
    contrib = read(run / "contribution.jsonl")
    reasons = {r["reason"] for r in contrib if not r["accepted"]}
    assert {"no_data", "rejected", "dropped"} <= reasons
    assert all(r["alignment"] is not None for r in contrib if r["accepted"])
    model = run / "model.pt"
    from speech.checkpoint import load_model

    net, _ = load_model(model, task="kws")
    import torch

    assert all(torch.isfinite(p).all() for p in net.state_dict().values())


def test_each_device_keeps_its_accountant_and_its_budget(local_dp_run):
    _, run = local_dp_run
    rows = read(run / "privacy.jsonl")
    devices = sorted({r["device"] for r in rows})
    trained_twice = 0
    for d in devices:
        mine = [r for r in rows if r["device"] == d]
        for r, (local, _) in zip(mine, recompute(mine), strict=True):
            assert r["local_epsilon"] == pytest.approx(local, rel=1e-9)
            assert r["local_epsilon"] <= 6 + 1e-9
        trained = [r for r in mine if r["local_release"]]
        if len(trained) >= 2:
            trained_twice += 1
            # the device's own accountant covers every round it trained, not the last one
            last = trained[-1]
            assert last["device_reported_epsilon"] == pytest.approx(last["local_epsilon"], rel=1e-6)
            single = epsilon(
                [
                    __import__("federated.accounting", fromlist=["Release"]).Release(
                        **{
                            k: last["local_release"][k]
                            for k in ("noise_multiplier", "sample_rate", "steps")
                        }
                    )
                ],
                last["delta"],
            )
            assert last["local_epsilon"] > single * 1.2
    assert trained_twice > 0
    assert any(r["status"] == "excluded: budget" for r in rows)
    text = format_device(run, devices[0])
    assert devices[0] in text and "local epsilon" in text


def test_the_ledger_command(local_dp_run):
    _, run = local_dp_run
    ok = subprocess.run(
        [sys.executable, "-m", "federated.ledger", "dev0000", "--run", str(run)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert ok.returncode == 0 and "spent: local epsilon" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "federated.ledger", "nobody", "--run", str(run)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "nobody" in bad.stderr


def test_user_dp_run_with_client_side_clipping_and_fedadam(tiny_corpus, tmp_path):
    from federated.simulate import simulate

    spec = _spec(
        tiny_corpus,
        tmp_path,
        [
            "privacy.user.clipping=client",
            "privacy.user.noise_multiplier=0.8",
            "federated=fedadam",
            "federated.rounds=3",
            "federated.devices_per_round=3",
        ],
    )
    summary = simulate(spec)
    run = Path(spec.out_dir)
    rows = read(run / "privacy.jsonl")
    for d in {r["device"] for r in rows}:
        mine = [r for r in rows if r["device"] == d]
        assert [r["user_epsilon"] for r in mine] == pytest.approx([u for _, u in recompute(mine)])
    assert summary["user_epsilon"] == pytest.approx(rows[-1]["user_epsilon"])
    assert summary["server"] == "fedadam" and json.loads((run / "run.json").read_text())
    assert (run / "rounds.csv").read_text().count("\n") == 4 and (run / "rounds.png").is_file()


def test_privacy_none_must_be_asked_for_and_warns(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "federated.simulate",
            "data=tiny",
            "data@central=tiny",
            f"out_root={out.parent}",
            f"out_dir={tmp_path / 'none'}",
            "privacy=none",
            "federated.rounds=1",
            "federated.devices_per_round=2",
            "progress=false",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "warning: privacy=none" in run.stderr
    assert json.loads((tmp_path / "none" / "summary.json").read_text())["privacy"] == "none"


def test_secure_aggregation_equals_plain_fedavg(tiny_corpus, tmp_path):
    """SecAgg+ (the server learns only the sum) gives the aggregate plain FedAvg gives, to the
    precision of its quantization; with user-level DP the devices clip and the sum is noised."""
    import torch

    from federated.simulate import simulate

    small = ["federated.rounds=1", "federated.devices_per_round=5", "federated.local_epochs=1"]
    common = ["privacy=none", *small]
    models = {}
    for secagg in (False, True):
        spec = _spec(tiny_corpus, tmp_path / str(secagg), [*common, f"federated.secagg={secagg}"])
        summary = simulate(spec)
        assert summary["counts"]["accepted"] == 5
        models[secagg] = torch.load(Path(spec.out_dir) / "model.pt", weights_only=True)[
            "state_dict"
        ]
    start = torch.load(ROOT / "models/kws-hey-nova/model.pt", weights_only=True)["state_dict"]
    moved = max((models[False][k] - start[k].float()).abs().max().item() for k in start)
    gap = max((models[False][k] - models[True][k]).abs().max().item() for k in start)
    assert moved > 1e-3 and gap < 1e-5, (moved, gap)  # the aggregate moved; SecAgg+ gave the same

    spec = _spec(
        tiny_corpus,
        tmp_path / "dp",
        [*small, "federated.secagg=true"],
    )
    summary = simulate(spec)
    rows = read(Path(spec.out_dir) / "contribution.jsonl")
    assert summary["user_epsilon"] > 0 and {r["accepted"] for r in rows} == {None}


def test_adaptive_clipping_and_a_trainable_subset(tiny_corpus, tmp_path):
    """Flower's adaptive-clipping wrapper moves the clipping norm; only the named parameters
    travel and change, and a prefix that names nothing is refused in one line."""
    import torch

    from federated.local import exchanged, new_model
    from federated.simulate import simulate

    spec = _spec(
        tiny_corpus,
        tmp_path,
        [
            "privacy.user.adaptive=true",
            "privacy.user.noise_multiplier=0.05",
            "federated.rounds=2",
            "federated.devices_per_round=5",
            "federated.trainable=[head,out_norm]",
        ],
    )
    simulate(spec)
    rows = read(Path(spec.out_dir) / "privacy.jsonl")
    norms = [r["user_release"]["clipping_norm"] for r in rows if r["user_release"]]
    assert len(set(norms)) > 1  # adapted between rounds
    after = torch.load(Path(spec.out_dir) / "model.pt", weights_only=True)["state_dict"]
    start = new_model(spec.setup).state_dict()
    changed = {k for k in start if not torch.equal(start[k], after[k].float())}
    assert changed and changed <= {
        "head.weight",
        "head.bias",
        "out_norm.norm.weight",
        "out_norm.norm.bias",
    }
    with pytest.raises(ValueError, match="names no parameter"):
        exchanged(new_model(spec.setup), ["nothing"])


def test_stragglers_past_the_round_timeout_are_left_out(tiny_corpus, tmp_path):
    """A device that answers after federated.timeout is counted and left out; the run goes on
    (the handshake and evaluations wait longer than a training round)."""
    from federated.simulate import simulate

    spec = _spec(
        tiny_corpus,
        tmp_path,
        [
            "privacy=none",
            "federated.rounds=2",
            "federated.devices_per_round=5",
            "federated.local_epochs=1",
            "federated.faults.straggle=0.4",
            "federated.faults.straggle_seconds=8",
            "federated.timeout=4",
            "audit.membership_clips=0",
        ],
    )
    summary = simulate(spec)
    c = summary["counts"]
    assert summary["rounds_run"] == 2 and c["timed_out"] > 0
    assert c["accepted"] + c["timed_out"] == c["sampled"] == 10
    rows = read(Path(spec.out_dir) / "contribution.jsonl")
    assert {r["reason"] for r in rows if not r["accepted"]} == {"timed_out"}


def test_false_wakes_are_the_devices_only_negatives(tiny_corpus, tmp_path):
    """``negatives=false_wakes``: a device trains on its positives and on exactly the non-wake
    clips that the global model wakes on; ``none`` keeps positives only."""
    import numpy as np

    from federated.data import population
    from federated.local import _dataset, build_task, local_negatives, new_model
    from speech.data.dataset import collate

    spec = _spec(tiny_corpus, tmp_path, ["privacy=none", "federated.negatives=false_wakes"])
    setup = spec.setup
    assert setup.negatives == "false_wakes"
    task = build_task(setup)
    model = new_model(setup).eval()
    device = population(setup.manifest, "kws")[0]
    full = _dataset(task, setup, device, "train")
    n_pos = sum(full.is_positive(u) for u in full.utts)
    assert 0 < n_pos < len(full)
    # each clip's peak score, one at a time
    full.train = False
    scores = {
        u.id: float(task.clip_scores(model, collate([full[i]]))[0])
        for i, u in enumerate(full.utts)
        if not full.is_positive(u)
    }
    threshold = float(np.median(list(scores.values())))
    setup.false_wake_threshold = threshold
    kept = local_negatives(model, task, setup, _dataset(task, setup, device, "train"))
    negatives = {u.id for u in kept.utts if not kept.is_positive(u)}
    assert negatives == {k for k, v in scores.items() if v >= threshold}
    assert 0 < len(negatives) < len(scores)
    assert sum(kept.is_positive(u) for u in kept.utts) == n_pos
    setup.negatives = "none"
    kept = local_negatives(model, task, setup, _dataset(task, setup, device, "train"))
    assert len(kept) == n_pos and all(kept.is_positive(u) for u in kept.utts)
    setup.negatives = "labelled"
    assert len(local_negatives(model, task, setup, _dataset(task, setup, device, "train"))) == len(
        full
    )


def test_a_user_level_budget_stops_the_run_and_the_ledger_says_so(tiny_corpus, tmp_path):
    from federated.simulate import simulate

    spec = _spec(
        tiny_corpus,
        tmp_path,
        [
            "privacy=user_dp",
            "privacy.user.noise_multiplier=1.0",
            "privacy.max_epsilon=3",
            "federated.rounds=6",
            "federated.devices_per_round=3",
            "federated.local_epochs=1",
            "audit.membership_clips=0",
        ],
    )
    summary = simulate(spec)
    assert "budget 3" in summary["stopped"] and summary["rounds_run"] < 6
    rows = read(Path(spec.out_dir) / "privacy.jsonl")
    last = max(r["round"] for r in rows)
    assert {r["status"] for r in rows if r["round"] == last} == {"excluded: budget"}
    assert all(r["user_epsilon"] <= 3 for r in rows)


@pytest.mark.slow
def test_devices_label_their_own_requests_once(tiny_corpus, tmp_path):
    """Pseudo-labels end to end: the devices label their requests with Whisper tiny.en at the
    handshake, report counts only, train on what they kept, and a second run reuses their
    caches."""
    pytest.importorskip("faster_whisper")
    from federated.data import device_clips, population
    from federated.labels import cache_path
    from federated.simulate import simulate

    overrides = [
        "task=asr",
        "privacy=none",
        "federated.labels=teacher",
        "federated.teacher_min_confidence=0.3",
        "federated.rounds=1",
        "federated.devices_per_round=2",
        "federated.local_epochs=1",
        "audit.canaries=0",
        "audit.membership_clips=0",
    ]
    spec = _spec(tiny_corpus, tmp_path / "first", overrides)
    s = spec.setup
    devices = population(s.manifest, "asr")
    clips = {
        d: len(device_clips(s.manifest, "asr", d, "train", test_share=s.test_share))
        for d in devices
    }
    first = simulate(spec)
    lab = first["labels"]
    assert lab["clips"] == lab["transcribed"] == sum(clips.values())
    assert (
        lab["clips"]
        == lab["kept"]
        + lab["corrected"]
        + lab["empty"]
        + lab["low_confidence"]
        + (lab["correction_dropped"])
    )
    assert lab["simulation_label_wer"] is not None and lab["label_words"] > 0
    for d, n in clips.items():
        assert (cache_path(s.manifest, "tiny.en", d).is_file()) == (n > 0)
    # the ledger's clips are the kept ones, as each device reported them
    rows = read(Path(spec.out_dir) / "privacy.jsonl")
    assert sum(r["clips"] for r in rows) <= lab["kept"]
    from federated.server_app import format_summary

    assert "pseudo-labels (whisper tiny.en, confidence >= 0.3)" in format_summary(first, "run")
    second = simulate(_spec(tiny_corpus, tmp_path / "second", overrides))
    assert second["labels"]["transcribed"] == 0
    assert {k: v for k, v in second["labels"].items() if k != "transcribed"} == {
        k: v for k, v in lab.items() if k != "transcribed"
    }


def test_a_run_that_selects_returns_its_best_validated_round(tiny_corpus, tmp_path):
    """``federated.select=best``: round 0 and every round are scored on the devices'
    validation clips with the central dev guard, and the model written is the chosen one."""
    import torch

    from federated.server_app import format_summary
    from federated.simulate import simulate
    from speech.checkpoint import read_checkpoint

    spec = _spec(
        tiny_corpus,
        tmp_path,
        [
            "privacy=none",
            "federated.select=best",
            "federated.local_val_share=0.3",
            "federated.rounds=3",
            "federated.devices_per_round=5",
            "federated.local_epochs=1",
            "federated.local_lr=0.5",
            "audit.membership_clips=0",
        ],
    )
    assert spec.setup.val_share == 0.3
    summary = simulate(spec)
    sel = summary["selection"]
    cands = sel["candidates"]
    assert [c["round"] for c in cands] == [0, 1, 2, 3]
    assert sel["guard_split"] == "dev"  # the tiny corpus has dev clips: test never chooses
    ok = [c for c in cands if c["eligible"]]
    best = min(ok, key=lambda c: (c["val"], c["round"]))
    assert sel["round"] == best["round"]
    assert all(c["central"] <= cands[0]["central"] + 0.02 + 1e-9 for c in ok) and all(
        c["central"] > cands[0]["central"] + 0.02 for c in cands if not c["eligible"]
    )
    assert f"returned round {sel['round']} of 3" in format_summary(summary, spec.out_dir)
    # the checkpoint written is the chosen round's: round 0 is the starting model itself
    written = read_checkpoint(Path(spec.out_dir) / "model.pt")["state_dict"]
    start = read_checkpoint(spec.setup.checkpoint)["state_dict"]
    same = all(torch.allclose(written[k].float(), start[k].float()) for k in start)
    assert same == (sel["round"] == 0)
    rows = (Path(spec.out_dir) / "rounds.csv").read_text()
    assert "val_frr" in rows.splitlines()[0]


def test_a_private_round_choice_is_in_every_devices_ledger(tiny_corpus, tmp_path):
    """``federated.select_noise``: each scoring reads every device's bounded validation error
    with noise; the user-level epsilon, the ledger and the summary all include it."""
    from federated.accounting import Release, epsilon
    from federated.server_app import format_summary
    from federated.simulate import simulate

    spec = _spec(
        tiny_corpus,
        tmp_path,
        [
            "privacy=user_dp",
            "privacy.user.noise_multiplier=1.0",
            "federated.select=best",
            "federated.select_noise=3",
            "federated.local_val_share=0.3",
            "federated.rounds=2",
            "federated.devices_per_round=3",
            "federated.local_epochs=1",
            "audit.membership_clips=0",
        ],
    )
    summary = simulate(spec)
    sel = summary["selection"]
    assert sel["private"] and sel["covered_by_epsilon"] and sel["noise_multiplier"] == 3.0
    assert [c["round"] for c in sel["candidates"]] == [0, 1, 2] and sel["margin"] > 0
    run = Path(spec.out_dir)
    rows = read(run / "privacy.jsonl")
    devices = sorted({r["device"] for r in rows})
    q = 3 / len(devices)
    want = epsilon([Release(1.0, q, 2), Release(3.0, 1.0, 3)], summary["delta"])
    assert summary["user_epsilon"] == pytest.approx(want)
    assert sel["training_epsilon"] == pytest.approx(epsilon([Release(1.0, q, 2)], 1e-3))
    for d in devices:
        mine = [r for r in rows if r["device"] == d]
        assert [r["user_epsilon"] for r in mine] == pytest.approx([u for _, u in recompute(mine)])
        assert sum(r["select_release"]["steps"] for r in mine if r["select_release"]) == 3
        assert all(r["select_exact_readings"] == 0 for r in mine)
    assert rows[-1]["user_epsilon"] == pytest.approx(want)
    assert "read this device's validation error 3 times with noise" in format_device(
        run, devices[0]
    )
    assert "covers the training rounds" in format_summary(summary, spec.out_dir)


def test_the_ledger_says_when_the_round_choice_was_exact(tmp_path):
    row = {
        "round": 1,
        "device": "dev0000",
        "mode": "user_dp",
        "sampled": False,
        "status": "not sampled",
        "clips": 0,
        "user_release": {"noise_multiplier": 1.0, "sample_rate": 0.5, "steps": 1},
        "select_release": None,
        "select_exact_readings": 2,
        "user_epsilon": epsilon_of_one(),
        "delta": 1e-3,
    }
    (tmp_path / "privacy.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "contribution.jsonl").write_text("")
    text = format_device(tmp_path, "dev0000")
    assert "validation errors 2 times exactly" in text and "not covered by any epsilon" in text
    assert recompute([row])[-1][1] == pytest.approx(row["user_epsilon"])


def epsilon_of_one() -> float:
    from federated.accounting import Release, epsilon

    return epsilon([Release(1.0, 0.5, 1)], 1e-3)


def test_public_replay_clips_join_a_round_but_not_its_weight(tiny_corpus, tmp_path):
    """``federated.replay_clips``: a device trains on public central-train clips (or
    data@replay's) beside its own, drawn afresh each round, while FedAvg still weighs it by its
    own clips; under local DP, or with no public corpus, the setting is refused with one line."""
    from federated.config import ConfigError
    from federated.data import population
    from federated.local import _dataset, _replay, build_task, new_model, train_round

    spec = _spec(tiny_corpus, tmp_path, ["privacy=none", "federated.replay_clips=3"])
    setup = spec.setup
    assert setup.replay_clips == 3 and setup.replay_manifest == spec.central_manifest
    task = build_task(setup)
    first, second = _replay(task, setup, 1), _replay(task, setup, 2)
    assert len(first) == 3 and all(u.split == "train" for u in first.utts)
    assert [u.id for u in first.utts] != [u.id for u in second.utts]
    device = population(setup.manifest, "kws")[0]
    own = len(_dataset(task, setup, device, "train"))
    state = new_model(setup).state_dict()
    setup.replay_clips = 24  # more than the tiny corpus's train split: every public clip
    result = train_round(setup, device, state, [], round_seed=1)
    setup.replay_clips = 0
    alone = train_round(setup, device, state, [], round_seed=1)
    assert result.clips == alone.clips == own
    assert result.steps > alone.steps  # more batches a local epoch: the public clips joined
    with pytest.raises(ConfigError, match="replay_clips=3: no public clips here: local DP"):
        _spec(tiny_corpus, tmp_path, ["privacy=local_dp", "federated.replay_clips=3"])
    # data@replay names the public corpus apart from the central test set (which may be absent)
    spec = _spec(
        tiny_corpus,
        tmp_path,
        ["privacy=none", "federated.replay_clips=3", "~data@central", "data@replay=tiny"],
    )
    assert spec.central_manifest is None and spec.setup.replay_manifest == setup.replay_manifest
    with pytest.raises(ConfigError, match="replay_clips=3: no public clips here: they come from"):
        _spec(tiny_corpus, tmp_path, ["privacy=none", "federated.replay_clips=3", "~data@central"])
