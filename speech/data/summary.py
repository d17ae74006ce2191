"""What a built corpus holds, as a dict (saved as JSON) and as a table for people."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from statistics import median

from speech.data.calibrate import VoiceReport
from speech.data.manifest import Utterance
from speech.data.plan import CorpusSpec, Device


def _h(seconds: float) -> float:
    return round(seconds / 3600, 3)


def summarize(
    spec: CorpusSpec,
    utts: list[Utterance],
    reports: list[VoiceReport],
    devices: list[Device],
    stats: Counter,
    *,
    seconds: float,
    out: Path,
) -> dict:
    """Hours by kind, split, speaker and device; voice calibration; alignment error; failures."""
    by_kind, by_split, by_speaker, by_device = Counter(), Counter(), Counter(), Counter()
    clips_by_kind, pii = Counter(), Counter()
    for u in utts:
        by_kind[u.kind] += u.duration
        by_split[u.split] += u.duration
        by_device[u.device] += u.duration
        clips_by_kind[u.kind] += 1
        pii.update(p.label for p in u.pii)
        if u.kind != "stream":
            by_speaker[u.speaker] += u.duration
    speaker_split = {d.speaker: d.split for d in devices}
    devs_by_split = defaultdict(int)
    for d in devices:
        devs_by_split[d.split] += 1
    per_device = sorted(by_device.values()) or [0.0]
    n_err = stats.get("align_err_n", 0)
    buckets = {f"<={b} ms": stats.get(f"align_err_le{b}", 0) for b in (10, 20, 40, 80)}
    return {
        "name": spec.name,
        "folder": str(out),
        "build_seconds": round(seconds, 1),
        "hours": {
            "total": _h(sum(by_kind.values())),
            "by_kind": {k: _h(v) for k, v in sorted(by_kind.items())},
            "by_split": {k: _h(v) for k, v in sorted(by_split.items())},
        },
        "clips": dict(sorted(clips_by_kind.items())),
        "speakers": {
            r.name: {
                "split": speaker_split.get(r.name),
                "hours": _h(by_speaker[r.name]),
                "word_accuracy": r.word_accuracy,
                "family": r.family,
            }
            for r in reports
            if r.kept
        },
        "voices_rejected": {r.name: r.reason for r in reports if not r.kept},
        "devices": {
            "count": len(devices),
            "by_split": dict(devs_by_split),
            "hours_min": _h(per_device[0]),
            "hours_median": _h(median(per_device)),
            "hours_max": _h(per_device[-1]),
            "hours": [_h(v) for v in per_device],
        },
        "word_times": {
            k.removeprefix("times_"): v for k, v in sorted(stats.items()) if k.startswith("times_")
        },
        "alignment_vs_festival": {
            "words": n_err,
            "mean_boundary_error_ms": round(stats.get("align_err_ms_sum", 0.0) / n_err, 1)
            if n_err
            else None,
            "share_within": {k: round(v / n_err, 3) for k, v in buckets.items()} if n_err else {},
        },
        "pii_slots": dict(sorted(pii.items())),
        "synthesis_failed": stats.get("synthesis_failed", 0),
    }


def plot_summary(s: dict, path: Path) -> Path:
    """Hours per speaker (coloured by split) and per device, as a PNG beside the summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"train": "tab:blue", "dev": "tab:orange", "test": "tab:green"}
    speakers = sorted(s["speakers"].items(), key=lambda kv: (kv[1]["split"] or "", kv[0]))
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    a.barh(
        [k for k, _ in speakers],
        [v["hours"] for _, v in speakers],
        color=[colours.get(v["split"], "grey") for _, v in speakers],
    )
    a.set_xlabel("hours (clips, excluding streams)")
    a.set_title("hours per speaker: blue = train, orange = dev, green = test")
    a.invert_yaxis()
    b.hist(s["devices"]["hours"], bins=20, color="tab:blue")
    b.set_xlabel("hours per device")
    b.set_ylabel("devices")
    b.set_title(f"{s['devices']['count']} devices")
    fig.suptitle(f"corpus {s['name']}: {s['hours']['total']:.2f} h")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def format_summary(s: dict) -> str:
    """A compact human-readable report of :func:`summarize`'s dict."""
    lines = [
        f"corpus {s['name']}: {s['folder']}" + ("  (cached)" if s.get("cached") else ""),
        f"  built in {s['build_seconds']:.0f} s; {s['hours']['total']:.2f} h of audio",
        "  hours by kind:  " + ", ".join(f"{k} {v:.2f}" for k, v in s["hours"]["by_kind"].items()),
        "  hours by split: " + ", ".join(f"{k} {v:.2f}" for k, v in s["hours"]["by_split"].items()),
        "  clips: " + ", ".join(f"{k} {v}" for k, v in s["clips"].items()),
        f"  devices: {s['devices']['count']} ({', '.join(f'{k} {v}' for k, v in s['devices']['by_split'].items())}),"
        f" {s['devices']['hours_min']:.3f}-{s['devices']['hours_max']:.3f} h each",
        f"  speakers: {len(s['speakers'])}",
    ]
    for name, sp in sorted(s["speakers"].items(), key=lambda kv: (kv[1]["split"] or "", kv[0])):
        acc = "n/a" if sp["word_accuracy"] < 0 else f"{sp['word_accuracy']:.2f}"
        lines.append(
            f"    {name:22s} {sp['split'] or '-':5s} {sp['hours']:6.3f} h  word accuracy {acc}"
        )
    if s["voices_rejected"]:
        lines.append("  voices rejected:")
        lines += [f"    {k:22s} {v}" for k, v in s["voices_rejected"].items()]
    a = s["alignment_vs_festival"]
    lines.append("  word times: " + ", ".join(f"{k} {v}" for k, v in s["word_times"].items()))
    if a["words"]:
        within = ", ".join(f"{k} {v:.0%}" for k, v in a["share_within"].items())
        lines.append(
            f"  aligner vs festival: {a['mean_boundary_error_ms']} ms mean boundary error "
            f"over {a['words']} words ({within})"
        )
    lines.append("  PII slots: " + ", ".join(f"{k} {v}" for k, v in s["pii_slots"].items()))
    lines.append(f"  synthesis failures: {s['synthesis_failed']}")
    return "\n".join(lines)
