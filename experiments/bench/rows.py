"""Figures of each benchmark's JSON as rows: ours beside a peer or baseline of the same run.

Every value here is read from a JSON a benchmark wrote (or computed from several of its values,
as a micro average from per-label counts); nothing is typed in. Each ``*_rows`` function takes
the benchmark's JSON documents in the order of its ``outputs`` and returns :class:`Row` s; each
``*_sizes`` function says, from the same documents, how much data the figures rest on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One figure of ours beside the same figure of a peer, measured in the same run.

    Attributes:
        area: what is measured, e.g. ``recognizer (whisper-head)``.
        measure: the figure, e.g. ``WER, held-out robotic voices``.
        ours: our value (a fraction for the units ``%`` and ``pts``).
        peer: the peer's or baseline's name.
        peer_value: its value in the same unit; None where the figure has no peer.
        better: ``lower`` or ``higher``.
        unit: ``%``, ``pts`` (percentage points), ``s``, ``RTF``, ``CPU s/s``, ``x realtime``
            or ``clips/s``.
        gpu: measured on a GPU.
    """

    area: str
    measure: str
    ours: float
    peer: str
    peer_value: float | None
    better: str
    unit: str
    gpu: bool = False

    @property
    def ratio(self) -> float | None:
        """``ours / peer_value``; None without a peer value or when it is zero."""
        if self.peer_value is None or self.peer_value == 0:
            return None
        return self.ours / self.peer_value


Figure = tuple[str, float, float | None]  # measure, ours, the peer's


def compare(
    area: str, peer: str, better: str, unit: str, figures: Iterable[Figure], gpu: bool = False
) -> list[Row]:
    """Rows of one area against one peer, all in one unit: a (measure, ours, peer's) each."""
    return [Row(area, m, ours, peer, theirs, better, unit, gpu) for m, ours, theirs in figures]


# -- recognizer ------------------------------------------------------------------------------

ASR_PEERS = {"pocketsphinx": "pocketsphinx 5.1.1", "whisper-tiny.en": "Whisper tiny.en"}
ASR_GROUPS = {
    "robotic": "WER, held-out robotic voices",
    "natural": "WER, held-out natural (Kokoro) voices",
    "real_silver": "silver WER, real human readings",
}


def asr_rows(report: Doc) -> list[Row]:
    """Each of our recognizers against pocketsphinx and Whisper tiny.en: WER per voice group
    and one-thread real-time factor (``experiments.asr_designs``)."""
    systems = report["systems"]
    rows = []
    for name, ours in systems.items():
        for key, peer_name in ASR_PEERS.items():
            peer = systems.get(key)
            if name in ASR_PEERS or peer is None:
                continue
            area, mine, theirs = f"recognizer ({name})", ours["groups"], peer["groups"]
            wer = [
                (m, mine[g]["wer"], theirs[g]["wer"])
                for g, m in ASR_GROUPS.items()
                if g in mine and g in theirs
            ]
            rtf = ("CPU real-time factor, 1 thread", ours["rtf_one_thread"], peer["rtf_one_thread"])
            rows += compare(area, peer_name, "lower", "%", wer)
            rows += compare(area, peer_name, "lower", "RTF", [rtf])
    return rows


def asr_sizes(report: Doc) -> str:
    """Clips and words per voice group, and the real recordings' length."""
    groups = next(iter(report["systems"].values()))["groups"]
    parts = [f"{g}: {v['clips']} clips, {v['words']} words" for g, v in groups.items()]
    real = report.get("real_recordings") or {}
    if real:
        parts.append(f"{len(real)} real recordings, {sum(real.values()):.0f} s")
    return "; ".join(parts)


# -- wake word -------------------------------------------------------------------------------


def kws_rows(report: Doc) -> list[Row]:
    """Our 'hey jarvis' model against openWakeWord's: FRR at the target false-accept rate and
    CPU time per audio second (``experiments.bench.kws_vs_openwakeword``)."""
    ours, peer = report["results"]["sottovoce"], report["results"]["openwakeword"]
    area, name = "wake word 'hey jarvis'", "openWakeWord 0.5.1 hey_jarvis"
    frr = f"FRR at {report['target_fa_per_hour']:g} false accepts per hour"
    cpu = "cpu_seconds_per_audio_second"
    return [
        *compare(area, name, "lower", "%", [(frr, ours["frr_at_target"], peer["frr_at_target"])]),
        *compare(
            area,
            name,
            "lower",
            "CPU s/s",
            [("CPU time per audio second, 1 thread", ours[cpu], peer[cpu])],
        ),
    ]


def kws_sizes(report: Doc) -> str:
    """Positives and hours of negative stream."""
    return f"{report['positives']} held-out positives, {report['stream_hours']} h negative stream"


# -- PII in text -----------------------------------------------------------------------------

PII_STYLES = ("spoken", "written")


def micro(style: Doc) -> tuple[float | None, float | None]:
    """Word-level micro precision and recall over every label of one style's figures
    (``redaction.pii.metrics``): true positives are recovered as recall x gold words."""
    labels = list(style["labels"].values())
    tp = sum(round(v["recall"] * v["gold_words"]) for v in labels if v["gold_words"])
    predicted = sum(v["predicted_words"] for v in labels)
    gold = sum(v["gold_words"] for v in labels)
    return (tp / predicted if predicted else None), (tp / gold if gold else None)


def pii_rows(ours: Doc, peer: Doc) -> list[Row]:
    """Our PII detector against Presidio on the same sentences: micro precision and recall per
    style, and the PII-free requests in which anything was masked."""
    rows = []
    for style in (s for s in PII_STYLES if s in ours and s in peer):
        area, name = f"PII in text ({style})", peer["detector"]
        (p, r), (peer_p, peer_r) = micro(ours[style]), micro(peer[style])
        scores = [("micro precision, words", p, peer_p), ("micro recall, words", r, peer_r)]
        over = ours[style]["over_masking"], peer[style]["over_masking"]
        rows += compare(area, name, "higher", "%", [f for f in scores if f[1] is not None])
        rows += compare(
            area, name, "lower", "%", [("PII-free requests with anything masked", *over)]
        )
    return rows


def pii_sizes(ours: Doc, peer: Doc) -> str:
    """Split, sentences per style and seed (both detectors score the same sentences)."""
    free = ", ".join(f"{s} {ours[s]['pii_free_requests']}" for s in PII_STYLES if s in ours)
    return f"{ours['split']} split, {ours['n']} sentences per style, seed {ours['seed']} (PII-free among them: {free})"


# -- PII in audio ----------------------------------------------------------------------------

LISTENERS = {"whisper": "Whisper base", "pocketsphinx": "pocketsphinx"}


def redaction_rows(report: Doc) -> list[Row]:
    """The redacted, anonymized audio against the original: the share of clips in which a
    listener recovers any PII value (``redaction.evaluate``)."""
    red, orig = report["leaks"]["redacted"], report["leaks"]["original"]
    leaks = [
        ("leak rate, either listener", report["leak_rate_redacted"], report["leak_rate_original"])
    ]
    if red.get("clips") and orig.get("clips"):  # a Counter: a listener that never hit is absent
        leaks += [
            (
                f"leak rate, {label} listening",
                red.get(k, 0) / red["clips"],
                orig.get(k, 0) / orig["clips"],
            )
            for k, label in LISTENERS.items()
        ]
    return compare("PII in audio (redact path)", "original, unredacted audio", "lower", "%", leaks)


def redaction_sizes(report: Doc) -> str:
    """Clips, clips listened to, withheld share."""
    red, orig = report["leaks"]["redacted"], report["leaks"]["original"]
    return (
        f"{report['clips']} clips ({report['pii_clips']} with PII); listened to: "
        f"{red.get('clips', 0)} redacted, {orig.get('clips', 0)} original; "
        f"withheld {report['withheld_share']:.1%}"
    )


# -- anonymization ---------------------------------------------------------------------------

ANON_OURS = "pseudo"  # the default method (redaction.anonymize.Anonymizer)
ANON_PEERS = {"mcadams": "McAdams 0.8 (VoicePrivacy baseline)", "none": "no anonymization"}
ATTACKERS = {"resemblyzer": "Resemblyzer", "speakernet": "SpeakerNet"}
SCENARIOS = ("ignorant", "lazy", "semi")
ANON_WER = {"whisper_wer": "Whisper tiny.en", "ours_wer": "our recognizer (asr-tiny)"}


def anonymization_rows(report: Doc) -> list[Row]:
    """The pseudo-speaker method against McAdams and against no anonymization: the
    speaker-verification EER per attacker (higher hides more) and the WER it costs."""
    by = {r["method"]: r for r in report["rows"]}
    ours, area = by.get(ANON_OURS), "voice anonymization (pseudo-speaker)"
    rows = []
    for key, name in ANON_PEERS.items():
        peer = by.get(key)
        if ours is None or peer is None:
            continue
        cols = {
            f"EER, {ATTACKERS[a]}, {s} attacker": f"{a}_{s}" for a in ATTACKERS for s in SCENARIOS
        }
        wers = {f"{label} WER on its output": col for col, label in ANON_WER.items()}
        rows += compare(area, name, "higher", "%", [(m, ours[c], peer[c]) for m, c in cols.items()])
        rows += compare(area, name, "lower", "%", [(m, ours[c], peer[c]) for m, c in wers.items()])
    return rows


def anonymization_sizes(report: Doc) -> str:
    """Clips, speakers, trials, WER clips."""
    return (
        f"{report['clips']} clips, {len(report['evaluation_speakers'])} evaluation and "
        f"{len(report['training_speakers'])} attack-training speakers, "
        f"{report['trials_per_method']} trials per method, {report['wer_clips']} clips for WER"
    )


# -- federated -------------------------------------------------------------------------------


def _gain(row: Doc, start: Doc) -> float:
    """Devices' FRR drop from the starting model (``start``'s local_before) to ``row``'s."""
    return start["local_before"]["target"]["frr"] - row["local_after"]["target"]["frr"]


def federated_rows(report: Doc) -> list[Row]:
    """Federated wake-word training under user-level DP against non-private federated training
    and central training on the pooled clips (``experiments.federated_privacy``)."""
    dp = next((r for r in report["rows"] if r.get("privacy") == "user_dp"), None)
    by = {r["setting"]: r for r in report["rows"]}
    peers = {"none": "federated, no DP", "central": "central training, pooled clips"}
    rows = []
    for key, name in peers.items():
        peer = by.get(key)
        if dp is None or peer is None:
            continue
        area = f"federated wake word, user-level DP ε={dp['epsilon']:.2f}"
        covered = (dp.get("selection") or {}).get("covered_by_epsilon")
        if covered is not None:  # federated.select=best: what the epsilon covers
            area += " (round choice included)" if covered else " (round choice not in ε)"
        local = dp["local_after"]["target"]["frr"], peer["local_after"]["target"]["frr"]
        central = dp["central_after"]["frr_at_target"], peer["central_after"]["frr_at_target"]
        frr = [
            ("devices' FRR at 0.5 FA/h after training", *local),
            ("central test FRR at 0.5 FA/h (forgetting)", *central),
        ]
        gain = ("devices' FRR gain over the starting model", _gain(dp, dp), _gain(peer, dp))
        rows += compare(area, name, "lower", "%", frr)
        rows += compare(area, name, "higher", "pts", [gain])
    return rows


def federated_sizes(report: Doc) -> str:
    """Devices, rounds, central epochs."""
    run = next(r for r in report["rows"] if "devices" in r)
    central = [r["epochs"] for r in report["rows"] if r["setting"] == "central"]
    text = f"{run['devices']} devices, {run['rounds_run']} rounds per federated run"
    chosen = [
        f"{r['setting']} {r['selection']['round']}"
        for r in report["rows"]
        if (r.get("selection") or {}).get("round") is not None
    ]
    if chosen:  # federated.select=best: the round each run returned
        text += f" (round returned: {', '.join(chosen)})"
    return text + (f"; central: {central[0]} epochs" if central else "")


# -- DP-SGD step -----------------------------------------------------------------------------


def dp_step_rows(report: Doc) -> list[Row]:
    """Opacus's DP-SGD step against the non-private step, per model and grad-sample mode."""
    rows = []
    for r in report["results"]:
        base = r["modes"].get("non-private")
        steps = [
            (f"median step, Opacus {mode}", m["median_s"], base["median_s"])
            for mode, m in r["modes"].items()
            if base and mode != "non-private"
        ]
        area = f"DP-SGD step, {r['task']} ({report['threads']} thread)"
        rows += compare(area, "non-private step", "lower", "s", steps)
    return rows


def dp_step_sizes(report: Doc) -> str:
    """Batch and parameters per model; the modes that failed."""
    parts = [
        f"{r['task']}: {r['parameters']:,} parameters, batch {r['batch']}"
        for r in report["results"]
    ]
    failed = sorted({m for r in report["results"] for m in r["errors"]})
    return "; ".join(parts) + (f"; modes that do not run: {', '.join(failed)}" if failed else "")


# -- training throughput ---------------------------------------------------------------------


def train_cpu_rows(report: Doc) -> list[Row]:
    """CPU clips/s of each model config: an absolute figure, no peer."""
    cpu = [
        (f"{r['model']}, {r['threads']} threads, fp32", r["clips_per_second"], None)
        for r in report["results"]
        if r["device"] == "cpu"
    ]
    return compare("training throughput (CPU)", "none (absolute)", "higher", "clips/s", cpu)


def train_gpu_rows(report: Doc) -> list[Row]:
    """GPU clips/s of each model config against the same machine's CPU in the same run."""
    by = {(r["model"], r["device"]): r for r in report["results"]}
    area = f"training throughput (GPU: {report['host']['gpu']})"
    rows = []
    for model, device in by:
        cuda, cpu = by[model, device], by.get((model, "cpu"))
        if device == "cuda" and cpu is not None:
            peer = f"CPU of the same machine ({cpu['threads']} threads, fp32)"
            gpu = (f"{model}, mixed precision", cuda["clips_per_second"], cpu["clips_per_second"])
            rows += compare(area, peer, "higher", "clips/s", [gpu], gpu=True)
    return rows


def train_sizes(report: Doc) -> str:
    """Corpus, epochs, clips per epoch and per-device repeats."""
    clips = sorted({f"{r['device']} {r['train_clips_per_epoch']}" for r in report["results"]})
    return f"corpus {report['corpus']}, {report['epochs']} epochs per run, clips per epoch: {', '.join(clips)}"


# -- synthesis -------------------------------------------------------------------------------


def synth_rows(report: list[Doc]) -> list[Row]:
    """Corpus synthesis speed per voice against the bare TTS engine on the same sentences."""
    rows = []
    for r in report:
        made = [
            ("16 kHz clips, audio s per wall s", r["clip_x_realtime"], r["engine_x_realtime"]),
            (
                "clips with word times, audio s per wall s",
                r["clip_times_x_realtime"],
                r["engine_x_realtime"],
            ),
        ]
        rows += compare(
            f"corpus synthesis ({r['voice']})", "bare TTS engine", "higher", "x realtime", made
        )
    return rows


def synth_sizes(report: list[Doc]) -> str:
    """Voices and seconds of audio made per voice."""
    return f"{len(report)} voices, " + ", ".join(
        f"{r['voice']} {r['audio_seconds']} s" for r in report
    )
