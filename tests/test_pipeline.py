"""experiments.pipeline: its configs compose, its cache reruns exactly what a change touches,
a tiny run end to end writes a report of its own figures, a second run skips what is cached,
and bad input is one line."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from experiments.pipeline import stages
from experiments.pipeline.report import pct, rollout
from experiments.pipeline.runner import Runner, Stage
from tests.conftest import CONF, compose_config

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted(p.stem for p in (CONF / "pipeline").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_composes_and_instantiates(preset, monkeypatch):
    from experiments.pipeline.__main__ import validate

    cfg = compose_config("pipeline", [f"pipeline={preset}"])
    for role in ("data", "devices"):
        assert type(instantiate(cfg[role], _convert_="all")).__name__ == "CorpusSpec"
    monkeypatch.setenv(cfg.escalate.policy.key_env, "k" * 32)
    assert instantiate(cfg.escalate.policy).sample_rate == cfg.escalate.policy.sample_rate
    validate(cfg)  # the federated, anonymization and checkpoint checks pass as shipped


def test_the_demo_speaks_only_voices_the_shipped_models_never_trained_on():
    from speech.data.voices import catalogue

    demo = compose_config("pipeline")
    held_out = set(compose_config("train", ["+experiment=kws_hey_nova"]).data.test_families)
    for recognizer in ("asr_tiny", "asr_whisper_head"):
        recipe = compose_config("train", [f"+experiment={recognizer}"])
        assert held_out == set(recipe.data.test_families)
    spec = instantiate(demo.data, _convert_="all")
    assert spec.name == "demo" and set(spec.test_families) == held_out
    assert {v.family for v in catalogue(list(demo.devices.voices))} <= held_out
    assert any(v.engine == "kokoro" for v in catalogue(list(demo.devices.voices)))


def _fake(cfg_values: dict, calls: list[str], tmp_path: Path):
    def make(name):
        def run(ctx):
            calls.append(name)
            return {
                "value": ctx.cfg[name],
                "used": {k: v and v["value"] for k, v in ctx.results.items()},
            }

        return run

    chain = [
        Stage("a", "first", make("a"), settings=("a",)),
        Stage("b", "second", make("b"), settings=("b",), uses=("a",)),
        Stage("c", "third", make("c"), settings=("c",), uses=("a",)),
        Stage("d", "last", make("d"), settings=("d",), uses=("b", "c")),
    ]
    cfg = OmegaConf.create(
        {"skip": [], "force": [], "estimates": {}, "a": 1, "b": 1, "c": 1, "d": 1, **cfg_values}
    )
    return Runner(chain, cfg, tmp_path, log=io.StringIO())


def test_a_changed_setting_reruns_its_stage_and_what_uses_it(tmp_path):
    calls: list[str] = []
    _fake({}, calls, tmp_path).run()
    assert calls == ["a", "b", "c", "d"]
    calls.clear()
    _fake({}, calls, tmp_path).run()
    assert calls == []  # all cached
    _fake({"b": 2}, calls, tmp_path).run()
    assert calls == ["b", "d"]  # c does not use b
    calls.clear()
    results = _fake({"b": 2, "force": ["c"]}, calls, tmp_path).run()
    assert calls == ["c", "d"]
    assert results["d"]["used"] == {"b": 2, "c": 1}
    calls.clear()
    _fake({"b": 2, "skip": ["c"]}, calls, tmp_path).run()
    assert calls == ["d"]  # d reran without c's result; a and b stay cached
    assert _fake({"b": 2, "skip": ["c"]}, [], tmp_path).plan()["d"] == "cached"
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert set(timings) == {"a", "b", "c", "d"}


def test_a_fingerprint_is_taken_when_its_stage_runs(tmp_path):
    """A checkpoint replaced after the plan (by a training beside the run) is what counts."""
    version = {"bytes": 1}
    calls: list[str] = []
    chain = [
        Stage("a", "first", lambda ctx: calls.append("a") or {}, fingerprint=lambda _: version),
        Stage("b", "second", lambda ctx: calls.append("b") or {}, uses=("a",)),
    ]
    cfg = OmegaConf.create({"skip": [], "force": [], "estimates": {}})
    Runner(chain, cfg, tmp_path, log=io.StringIO()).run()
    runner = Runner(chain, cfg, tmp_path, log=io.StringIO())
    assert runner.plan() == {"a": "cached", "b": "cached"}
    version["bytes"] = 2  # replaced between the plan and the run
    runner.run()
    assert calls == ["a", "b", "a", "b"]
    calls.clear()
    Runner(chain, cfg, tmp_path, log=io.StringIO()).run()
    assert calls == []  # stored under the key of what it read


def test_the_stages_come_after_what_they_use():
    seen: set[str] = set()
    for s in stages():
        assert set(s.uses) <= seen, s.name
        seen.add(s.name)


def _pipeline(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.pipeline", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def tiny_run(tiny_corpus, tmp_path_factory):
    """``pipeline=tiny`` on the session's tiny corpus, without the two slowest stages."""
    folder, _ = tiny_corpus
    out = tmp_path_factory.mktemp("pipeline") / "run"
    args = [
        "pipeline=tiny",
        f"out_root={folder.parent}",
        f"out_dir={out}",
        "skip=[federated,redaction]",
        "progress=false",
    ]
    first = _pipeline(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    return out, args, first


def _result(out: Path, stage: str) -> dict:
    return json.loads((out / "stages" / f"{stage}.json").read_text())


def _headline(report: str) -> dict[str, str]:
    """The report's first table: figure -> value."""
    lines = report.split("| figure | value | measured on |", 1)[1].split("\n\n", 1)[0]
    cells = [line.split(" | ") for line in lines.strip().splitlines()[1:]]
    return {c[0].removeprefix("| "): c[1] for c in cells}


def test_the_report_holds_this_runs_figures(tiny_run):
    out, _, first = tiny_run
    report = (out / "report.md").read_text()
    kws = _result(out, "kws")["result"]
    asr = _result(out, "asr")["result"]
    anon = _result(out, "anonymization")["result"]
    esc = _result(out, "escalate")["result"]
    rows = _headline(report)
    assert rows["Wake word: FRR at 0.5 FA/h, held-out voices, clean"].startswith(
        pct(kws["frr"]["clean"])
    )
    whisper = asr["whisper"]
    assert rows[f"Recognizer WER, held-out requests: ours / {whisper}"] == (
        f"{pct(asr['wer']['ours']['all'])} / {pct(asr['wer'][whisper]['all'])}"
    )
    assert f"pseudo {pct(anon['eer']['pseudo']['lazy'])}" in report
    counts = " / ".join(str(esc[k]) for k in ("decided", "escalated", "withheld", "queued"))
    assert rows["Devices' requests: decided / escalated / withheld / queued"] == counts
    assert rows["Federated training (FRR before → after, epsilon)"] == "skipped"
    assert rows["PII recall and audio leak rate"] == "skipped"
    assert "python -m redaction.review add-reviewer alice --db sqlite:///" in report
    assert "python -m redaction.review serve --db sqlite:///" in report
    for plot in re.findall(r"!\[[^]]*\]\(([^)]+)\)", report):
        assert (out / plot).stat().st_size > 1000
    assert 0 <= kws["frr"]["clean"] <= 1 and kws["positives"] > 0
    assert asr["clips"] > 0 and asr["words"]["all"] > 0
    assert "report.md" in first.stdout


def test_a_second_run_skips_the_cached_stages(tiny_run):
    out, args, _ = tiny_run
    before = {s: _result(out, s)["finished"] for s in ("corpus", "kws", "asr", "report")}
    again = _pipeline(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 of 9 stages to run" in again.stderr
    assert again.stderr.count(": cached (") == 7
    assert {s: _result(out, s)["finished"] for s in before} == before


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("force=[kws,nope]", "unknown stage(s) nope"),
        ("skip=[models]", "models cannot be skipped"),
        ("models.asr=models/kws-hey-nova/model.pt", "a wake-word checkpoint; models.asr needs"),
        ("asr.clips=0", "asr.clips=0"),
        (
            "escalate.redact.second_opinion=models/none.pt",
            "escalate.redact.second_opinion=models/none.pt: no such checkpoint",
        ),
        (
            "escalate.redact.second_opinion=models/kws-hey-nova/model.pt",
            "a wake-word checkpoint; escalate.redact.second_opinion needs",
        ),
        ("privacy.delta=0.5", "privacy.delta=0.5"),
        ("federated.devices_per_round=41", "the population has only 40 devices"),
        ("anonymization.enrol=8", "clips_per_speaker=8 must exceed enrol=8"),
        ("devices.voices=[flite-nobody]", "devices.voices: unknown voices ['flite-nobody']"),
        ("data.stream_hours=0", "data.stream_hours=0"),
    ],
)
def test_bad_settings_fail_before_any_work(override, expected):
    from experiments.pipeline.__main__ import validate

    cfg = compose_config("pipeline", [override])
    with pytest.raises(Exception, match=re.escape(expected)):
        validate(cfg)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("skip=[nope]", "error: skip=['nope']: unknown stage(s) nope; the stages are corpus,"),
        (
            "models.kws=models/missing/model.pt",
            "error: models.kws=models/missing/model.pt: no such",
        ),
    ],
)
def test_bad_input_is_one_line(override, expected, tmp_path):
    proc = _pipeline(override, f"out_dir={tmp_path / 'run'}", timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith(expected) and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_the_whole_tiny_pipeline_with_federated_training_and_redaction(tiny_corpus, tmp_path):
    folder, _ = tiny_corpus
    out = tmp_path / "run"
    proc = _pipeline("pipeline=tiny", f"out_root={folder.parent}", f"out_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    fed = _result(out, "federated")["result"]
    red = _result(out, "redaction")["result"]
    assert fed["rounds_run"] == 1 and fed["epsilon"]
    assert all(v["user"] > 0 for v in fed["epsilon"].values())
    report = (out / "report.md").read_text()
    cb, ca = fed["central_before"]["frr_at_target"], fed["central_after"]["frr_at_target"]
    assert f"{pct(cb)} → {pct(ca)}" in report
    assert f"{pct(red['leak_rate_redacted'])} / {pct(red['leak_rate_original'])}" in report
    sel = fed["selection"]  # conf/federated/best_round.yaml: the best validated round
    assert [c["round"] for c in sel["candidates"]] == [0, 1] and sel["round"] in (0, 1)
    assert (
        f"| Round returned (best on the devices' validation clips, central guard) | {sel['round']} of 1"
        in report
    )
    assert (out / "epsilon.png").is_file() and (out / "redaction.png").is_file()
    assert Path(fed["ledger_example"]).read_text().startswith("device dev0000")
    before = {s: _result(out, s)["finished"] for s in ("kws", "asr", "federated")}
    changed = _pipeline(
        "pipeline=tiny", f"out_root={folder.parent}", f"out_dir={out}", "asr.clips=2"
    )
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert "2 of 9 stages to run" in changed.stderr  # asr, and the report that uses it
    after = {s: _result(out, s)["finished"] for s in before}
    assert after["asr"] != before["asr"]
    assert after["kws"] == before["kws"] and after["federated"] == before["federated"]


def _fed(central: tuple[float, float], devices: tuple[float, float]) -> dict:
    return {
        "central_before": {"frr_at_target": central[0]},
        "central_after": {"frr_at_target": central[1]},
        "local_before": {"target": {"frr": devices[0]}},
        "local_after": {"target": {"frr": devices[1]}},
    }


@pytest.mark.parametrize(
    ("central", "devices", "deploy", "says"),
    [
        ((0.0, 0.143), (0.616, 0.929), False, "central test FRR rose 0.0% → 14.3%"),
        ((0.10, 0.05), (0.60, 0.65), False, "the devices' FRR rose 60.0% → 65.0%"),
        ((0.0, 0.0), (0.616, 0.616), False, "no change"),
        ((0.10, 0.05), (0.60, 0.55), True, "central 10.0% → 5.0%, devices 60.0% → 55.0%"),
    ],
)
def test_a_federated_model_rolls_out_only_if_no_worse(central, devices, deploy, says):
    ok, why = rollout(_fed(central, devices))
    assert ok is deploy and says in why


def test_the_round_returned_says_why():
    from experiments.pipeline.report import selection_row

    def cand(r, val, ok=True):
        return {"round": r, "val": val, "central": 0.0, "eligible": ok}

    sel = {"round": 0, "candidates": [cand(0, 0.5), cand(1, 0.6), cand(2, 0.7)]}
    assert selection_row(sel, 2)[1] == "0 of 2 (no round beat the starting model)"
    sel = {"round": 0, "candidates": [cand(0, 0.5), cand(1, 0.4, False), cand(2, 0.7)]}
    _, value, detail = selection_row(sel, 2)
    assert value == "0 of 2 (the rounds that scored better failed the central guard)"
    assert "40.0% at best, 1 failed the guard" in detail
    sel = {"round": 1, "candidates": [cand(0, 0.5), cand(1, 0.4), cand(2, float("nan"), False)]}
    assert selection_row(sel, 2)[1:] == (
        "1 of 2",
        "validation FRR 50.0% at the start, 40.0% returned; rounds 1-2: 40.0% at best",
    )  # an unscorable round (NaN) is neither a best nor a guard failure
    private = {
        "round": 0,
        "private": True,
        "margin": 0.08,
        "noise_multiplier": 2.0,
        "candidates": [cand(0, 0.5), cand(1, 0.45)],
    }
    _, value, detail = selection_row(private, 1)
    assert value == "0 of 1 (no round beat the starting model by the 8.0% margin noise calls for)"
    assert detail.startswith("noisy mean validation FRR 50.0%") and "noise multiplier 2" in detail
    assert "round 1: 45.0% at best" in detail  # the only round scored after the start
    private["candidates"].append(cand(5, 0.6))
    assert "rounds 1, 5: 45.0% at best" in selection_row(private, 5)[2]


def test_the_report_says_what_epsilon_covers():
    from experiments.pipeline.report import epsilon_scope

    assert epsilon_scope(None) == "" and epsilon_scope({"round": 0}) == ""
    exact = {"covered_by_epsilon": False, "training_epsilon": 3.58}
    assert "training rounds only" in epsilon_scope(exact)
    private = {"covered_by_epsilon": True, "training_epsilon": 3.58}
    assert "(3.58 alone) and the private round choice" in epsilon_scope(private)


def test_a_run_without_user_level_dp_chooses_its_round_exactly():
    """conf/pipeline.yaml's private round choice belongs to user-level DP: with privacy=none
    the stage's checks pass and its federated config chooses exactly."""
    from experiments.pipeline.federate import check, federated_node
    from tests.conftest import compose_config

    assert federated_node(compose_config("pipeline")).select_noise == 2.0
    cfg = compose_config("pipeline", ["privacy=none"])
    check(cfg)  # raised "needs privacy=user_dp" before
    assert federated_node(cfg).select_noise == 0.0 and cfg.federated.select_noise == 2.0
