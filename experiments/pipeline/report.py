"""The last stage: ``report.md`` with its plots, from the other stages' results only."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiments.pipeline.runner import Context


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def num(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else "inf" if x == float("inf") else f"{x:.{digits}f}"


def _bars(
    path: Path, title: str, groups: dict[str, dict[str, float]], ylabel: str, *, percent=True
):
    """A grouped bar chart: one group of bars per key of ``groups``, one bar per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch

    series = list(dict.fromkeys(s for g in groups.values() for s in g))
    colors = {s: f"C{i}" for i, s in enumerate(series)}
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(groups) * max(1, len(series)) ** 0.5), 3.6))
    width = 0.8 / max(1, max(len(g) for g in groups.values()))
    for x, g in enumerate(groups.values()):  # each group's own bars, centred on its tick
        for i, (s, v) in enumerate(g.items()):
            at = x + (i - (len(g) - 1) / 2) * width
            value = np.nan if v is None else 100 * v if percent else v
            bars = ax.bar([at], [value], width, color=colors[s])
            ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(groups)), list(groups), fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if len(series) > 1:
        ax.legend([Patch(color=colors[s]) for s in series], series, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _plots(r: dict[str, Any], out: Path) -> dict[str, str]:
    plots = {}
    kws, fed = r.get("kws"), r.get("federated")
    frr: dict[str, dict[str, float]] = {}
    if kws:
        frr["shipped, held-out\n(kws stage)"] = {"clean": kws["frr"]["clean"]}
    if fed and fed.get("central_before"):
        frr["central test\n(federated stage)"] = {
            "before": fed["central_before"]["frr_at_target"],
            "after": fed["central_after"]["frr_at_target"],
        }
    if fed and fed.get("local_before"):
        frr["devices' test clips\n(noisy homes)"] = {
            "before": fed["local_before"]["target"]["frr"],
            "after": fed["local_after"]["target"]["frr"],
        }
    if frr:
        plots["kws"] = _bars(out / "kws_frr.png", "wake-word FRR at 0.5 FA/h", frr, "FRR (%)")
    if fed:
        eps = {d: v["user"] for d, v in fed["epsilon"].items() if v["user"] is not None}
        loc = {d: v["local"] for d, v in fed["epsilon"].items() if v["local"] is not None}
        if eps or loc:
            plots["epsilon"] = _epsilon_plot(out / "epsilon.png", eps, loc, fed)
    if r.get("asr"):
        wer = r["asr"]["wer"]
        groups = {g: {name: wer[name].get(g) for name in wer} for g in wer["ours"]}
        plots["asr"] = _bars(
            out / "asr_wer.png", "recognizer WER, held-out requests", groups, "WER (%)"
        )
    if r.get("redaction"):
        red = r["redaction"]
        plots["redaction"] = _bars(
            out / "redaction.png",
            f"redacted audio, {red['clips']} spoken clips",
            {
                "PII recall": {"redacted": red["pii_recall"]},
                "leak rate": {
                    "redacted": red["leak_rate_redacted"],
                    "original": red["leak_rate_original"],
                },
            },
            "%",
        )
    if r.get("anonymization"):
        eer = r["anonymization"]["eer"]
        plots["anonymization"] = _bars(
            out / "anonymization.png",
            "speaker verification EER (Resemblyzer); 50% is chance",
            {m: {"ignorant": v["ignorant"], "lazy-informed": v["lazy"]} for m, v in eer.items()},
            "EER (%)",
        )
    if r.get("escalate"):
        e = r["escalate"]
        plots["escalate"] = _bars(
            out / "escalation.png",
            "the devices' requests",
            {k: {"clips": e[k]} for k in ("decided", "escalated", "withheld", "queued")},
            "clips",
            percent=False,
        )
    return plots


def _epsilon_plot(path: Path, eps: dict, loc: dict, fed: dict) -> str:
    """Epsilon per device, with the rounds each one trained in; and epsilon round by round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [3, 1]})
    devices = sorted(set(eps) | set(loc))
    x = range(len(devices))
    if eps:
        a.bar(x, [eps.get(d, 0) for d in devices], color="C0", label="user-level epsilon")
    if loc:
        a.plot(x, [loc.get(d, 0) for d in devices], "k.", label="local epsilon (DP-SGD)")
    a.set_xticks(x, devices, rotation=90, fontsize=6)
    a.set_ylabel(f"epsilon (delta {fed['delta']:g})")
    twin = a.twinx()
    twin.plot(x, [fed["epsilon"][d]["rounds_trained"] for d in devices], "C1o", ms=3)
    twin.set_ylabel("rounds it trained in", color="C1")
    a.set_title(
        f"per device after {fed['rounds_run']} rounds ({fed['privacy']}): spent whether "
        "sampled or not",
        fontsize=9,
    )
    a.legend(fontsize=7, loc="lower left")
    rounds = fed.get("epsilon_by_round") or []
    if rounds:
        b.plot([r[0] for r in rounds], [r[1] for r in rounds], "C0-o", ms=3)
    b.set(xlabel="round", ylabel="user-level epsilon so far")
    b.set_title("the accountant, round by round", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def rollout(fed: dict[str, Any]) -> tuple[bool, str]:
    """Whether the federated wake word may replace the shipped one, and why: only if it is no
    worse on the central held-out test and on the devices' own test clips (FRR at the target
    false-accept rate), the check a deployment makes before pushing a model to every home."""
    cb, ca = fed["central_before"]["frr_at_target"], fed["central_after"]["frr_at_target"]
    lb, la = fed["local_before"]["target"]["frr"], fed["local_after"]["target"]["frr"]
    worse = []
    if ca > cb:
        worse.append(f"central test FRR rose {pct(cb)} → {pct(ca)}")
    if la > lb:
        worse.append(f"the devices' FRR rose {pct(lb)} → {pct(la)}")
    if worse:
        return False, "no, the shipped model stays: " + "; ".join(worse)
    if (ca, la) == (cb, lb):
        return False, "no change on either test: the shipped model stays"
    return True, f"yes: central {pct(cb)} → {pct(ca)}, devices {pct(lb)} → {pct(la)}"


def selection_row(sel: dict[str, Any], rounds: int) -> tuple[str, str, str]:
    """The round a ``federated.select=best`` run returned, and why."""
    cands = sel["candidates"]
    chosen = sel["round"]
    val = {c["round"]: c["val"] for c in cands}
    later = [c for c in cands if c["round"] > 0 and math.isfinite(c["val"])]  # NaN: unscorable
    why = ""
    margin = sel.get("margin") or 0.0
    if chosen == 0 and later:
        beat = [c for c in later if c["val"] < val[0] - margin]
        why = (
            " (the rounds that scored better failed the central guard)"
            if beat and all(not c["eligible"] for c in beat)
            else " (no round beat the starting model"
            + (f" by the {pct(margin)} margin noise calls for)" if margin else ")")
        )
    what = "noisy mean validation FRR" if sel.get("private") else "validation FRR"
    detail = f"{what} {pct(val[0])} at the start, {pct(val[chosen])} returned"
    if later:
        scored = [c["round"] for c in cands if c["round"] > 0]
        if len(scored) == 1:
            which = f"round {scored[0]}"
        elif scored == list(range(1, rounds + 1)):
            which = f"rounds 1-{rounds}"
        else:
            which = "rounds " + ", ".join(map(str, scored))
        detail += f"; {which}: {pct(min(c['val'] for c in later))} at best"
        failed = sum(not c["eligible"] for c in later)
        if failed:
            detail += f", {failed} failed the guard"
    if sel.get("private"):
        detail += f"; private choice, noise multiplier {num(sel['noise_multiplier'])}"
    return (
        "Round returned (best on the devices' validation clips, central guard)",
        f"{chosen} of {rounds}{why}",
        detail,
    )


def epsilon_scope(sel: dict[str, Any] | None) -> str:
    """What the user-level epsilon covers, when a run chose its round."""
    if not sel or "covered_by_epsilon" not in sel:
        return ""
    if sel["covered_by_epsilon"]:
        return (
            f"; covers the training rounds ({num(sel['training_epsilon'])} alone) and the "
            "private round choice"
        )
    return "; the training rounds only: the round choice read validation errors exactly"


def headline(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, measured on) rows of the headline table; skipped stages say so."""
    rows = []
    kws, fed, asr = r.get("kws"), r.get("federated"), r.get("asr")
    red, anon, esc = r.get("redaction"), r.get("anonymization"), r.get("escalate")
    skipped = "skipped"
    if kws:
        fa = kws["false_accepts"]
        rows.append(
            (
                f"Wake word: FRR at {kws['target_fa_per_hour']:g} FA/h, held-out voices, clean",
                f"{pct(kws['frr']['clean'])} (noisy 0 dB: {pct(kws['frr'].get('0dB'))})",
                f"{kws['positives']} wake clips, {kws['stream_hours']:.2f} h stream "
                f"({fa} false accepts at threshold {kws['threshold']:g})",
            )
        )
    else:
        rows.append(("Wake word: FRR at 0.5 FA/h, held-out voices", skipped, ""))
    if fed and fed.get("central_before"):
        cb, ca = fed["central_before"], fed["central_after"]
        lb, la = fed["local_before"]["target"], fed["local_after"]["target"]
        rows.append(
            (
                "Wake word: FRR at 0.5 FA/h before → after federated training, central test",
                f"{pct(cb['frr_at_target'])} → {pct(ca['frr_at_target'])}",
                f"{cb['positives']} clean held-out wake clips, {cb['stream_hours']:.2f} h stream",
            )
        )
        rows.append(
            (
                "Wake word: FRR before → after federated training, the devices' own test clips",
                f"{pct(lb['frr'])} → {pct(la['frr'])}",
                f"{int(lb['positives'])} noisy wake clips on {fed['devices']} devices",
            )
        )
        sel = fed.get("selection")
        if sel and sel.get("round") is not None:
            rows.append(selection_row(sel, fed["rounds_run"]))
        rows.append(
            (
                "Rollout: does the federated wake word replace the shipped one?",
                rollout(fed)[1],
                "no worse on the central test and on the devices' clips",
            )
        )
        eps = [v["user"] for v in fed["epsilon"].values() if v["user"] is not None]
        rows.append(
            (
                f"User-level epsilon per device (delta {fed['delta']:g})",
                (f"{num(min(eps))} to {num(max(eps))}" if min(eps) != max(eps) else num(eps[0]))
                if eps
                else "none (privacy=" + fed["privacy"] + ")",
                f"{fed['devices']} devices, {fed['rounds_run']} rounds, noise multiplier "
                f"{num(fed['user_noise'])}" + epsilon_scope(fed.get("selection")),
            )
        )
    else:
        rows.append(("Federated training (FRR before → after, epsilon)", skipped, ""))
    if asr:
        w = r["asr"]["wer"]
        rows.append(
            (
                f"Recognizer WER, held-out requests: ours / {asr['whisper']}",
                f"{pct(w['ours']['all'])} / {pct(w[asr['whisper']]['all'])}",
                f"the same {asr['clips']} clean requests ({asr['words']['all']} words); "
                "Whisper decodes as it does by default, re-decoding poor clips by sampling, so "
                "its figure moves by about a point from run to run",
            )
        )
    else:
        rows.append(("Recognizer WER (ours, Whisper)", skipped, ""))
    if red:
        rows.append(
            (
                "PII recall of the redacted audio (entities with every word 90% bleeped)",
                pct(red["pii_recall"]),
                f"{red['entities']} PII entities in {red['clips']} spoken clips",
            )
        )
        lk = red["leaks"]
        rows.append(
            (
                "Audio leak rate: redacted / original",
                f"{pct(red['leak_rate_redacted'])} / {pct(red['leak_rate_original'])}",
                f"{lk['redacted'].get('any', 0)} of {lk['redacted'].get('clips', 0)} redacted, "
                f"{lk['original'].get('any', 0)} of {lk['original'].get('clips', 0)} original "
                f"clips (listeners {red['listener']}, pocketsphinx)",
            )
        )
    else:
        rows.append(("PII recall and audio leak rate", skipped, ""))
    if anon:
        eer = anon["eer"]
        best = [m for m in eer if m != "none"]
        value = " ; ".join(f"{m} {pct(v['lazy'])}" for m, v in eer.items())
        rows.append(
            (
                "Anonymization EER, lazy-informed attacker (Resemblyzer; 50% = chance)",
                value if best else pct(eer["none"]["lazy"]),
                f"{len(anon['speakers'])} speakers, {anon['trials']} trials",
            )
        )
    else:
        rows.append(("Anonymization EER", skipped, ""))
    if esc:
        rows.append(
            (
                "Devices' requests: decided / escalated / withheld / queued",
                f"{esc['decided']} / {esc['escalated']} / {esc['withheld']} / {esc['queued']}",
                f"{esc['devices']} devices, confidence from our recognizer",
            )
        )
    else:
        rows.append(("Escalation, redaction and review queue", skipped, ""))
    return rows


def write_report(results: dict[str, Any], records: dict[str, Any], out: Path, cfg) -> Path:
    """Write ``out/report.md`` (and its plots) from the stages' results."""
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(results, out)
    r = results
    lines = [
        f"# The whole system, one run: `{cfg.run}`",
        "",
        f"Written {datetime.now(UTC).isoformat(timespec='seconds')} by "
        f"`{' '.join(['python -m experiments.pipeline', *sys.argv[1:]])}`. Every figure below "
        "comes from this run's stages (`stages/<stage>.json` beside this file).",
        "",
        "| figure | value | measured on |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in headline(r)],
        "",
    ]
    if r.get("escalate"):
        lines += [
            "Open the reviewer UI on this run's queue (it asks for the new reviewer's password):",
            "",
            "```bash",
            r["escalate"]["review_command"],
            "```",
            "",
        ]
    lines += _sections(r, plots)
    lines += ["## Stages", "", "| stage | seconds | status |", "|---|---|---|"]
    for name, rec in records.items():
        lines.append(f"| {name} | {rec.get('seconds', '')} | {rec.get('status', '')} |")
    lines += [
        "",
        "Settings: `config.yaml` beside this file. Times are wall-clock seconds of the stage's "
        "last execution.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def _sections(r: dict[str, Any], plots: dict[str, str]) -> list[str]:
    lines: list[str] = []
    c = r.get("corpus")
    if c:
        d, v = c["data"], c["devices"]
        lines += [
            "## Data",
            "",
            f"- held-out test set `{d['name']}` ({d['folder']}): {d['hours']['total']:.2f} h, "
            f"{d['devices']} devices, speakers "
            + ", ".join(f"{s} ({sp})" for s, sp in d["speakers"].items()),
            f"- federated population `{v['name']}` ({v['folder']}): {v['devices']} homes, "
            f"{v['hours']['total']:.2f} h, speakers {', '.join(v['speakers'])}",
            "",
        ]
    m = r.get("models")
    if m:
        lines += ["## Models", ""]
        for task, info in ((t, m[t]) for t in ("kws", "asr")):
            lines.append(
                f"- {task}: `{info['path']}` ({info['how']}; {info['model_class']}, "
                f"{info['parameters']:,} parameters, sha256 {info['sha256']})"
            )
        lines.append("")
    if "kws" in plots or "epsilon" in plots:
        lines += ["## Wake word and federated training", ""]
        if "kws" in plots:
            lines += [f"![wake-word FRR]({plots['kws']})", ""]
        fed = r.get("federated")
        if fed:
            lines += [
                f"Federated run: `{fed['command']}`",
                "",
                f"{fed['rounds_run']} rounds, {fed['server']}, privacy {fed['privacy']}; "
                f"device updates: {json.dumps(fed['counts'])}. One device's ledger: "
                f"`{fed['ledger_command']}`.",
                "",
            ]
            lines += [
                "User-level DP adds noise to the sum of the sampled homes' clipped updates and "
                "divides it by the expected number of homes a round, so the noise a round carries "
                "shrinks with the population: with few homes a useful epsilon costs the model "
                "much (`pipeline=full` has 100 homes; experiments/results/federated.md).",
                "",
            ]
            gain = fed.get("gain_frr_at_target")
            if gain:
                lines += [
                    f"Gain on the devices' test clips: {100 * gain['gain']:+.1f} points "
                    f"(95% interval over devices {100 * gain['low']:+.1f} to "
                    f"{100 * gain['high']:+.1f}).",
                    "",
                ]
        if "epsilon" in plots:
            lines += [f"![epsilon per device]({plots['epsilon']})", ""]
    if "asr" in plots:
        a = r["asr"]
        lines += [
            "## Recognizer",
            "",
            f"![WER]({plots['asr']})",
            "",
            f"{a['clips']} held-out requests ({a['audio_seconds']} s), speakers "
            f"{', '.join(a['speakers'])}; real-time factor on one thread: "
            + ", ".join(f"{k} {v}" for k, v in a["rtf_one_thread"].items()),
            "",
        ]
    if "escalate" in plots:
        e = r["escalate"]
        lines += [
            "## Escalation, redaction, review queue",
            "",
            f"![escalation]({plots['escalate']})",
            "",
            f"Decisions: {json.dumps(e['decisions'])}; withheld: "
            f"{json.dumps(e['withheld_reasons'])}. Policy: {json.dumps(e['policy'])}; sample "
            f"key {e['sample_key']}. Log: `{e['log']}`.",
            "",
            "| said on the device | what a reviewer reads |",
            "|---|---|",
            *[f"| {x['said']} | {x['reviewer_reads']} |" for x in e["rows"][:8]],
            "",
        ]
    if "redaction" in plots:
        red = r["redaction"]
        lines += [
            "## Redaction and anonymization",
            "",
            f"![redaction]({plots['redaction']})",
            "",
            f"`{red['command']}`: recall by label "
            + ", ".join(f"{k} {pct(v, 0)}" for k, v in red["recall_by_label"].items())
            + f"; withheld {pct(red['withheld_share'])}; over-masking "
            f"{pct(red['over_masking_word_rate'])} of PII-free words; RTF {num(red['rtf_mean'])}.",
            "",
        ]
    if "anonymization" in plots:
        lines += [f"![anonymization EER]({plots['anonymization']})", ""]
    return lines


def report(ctx: Context) -> dict[str, Any]:
    """The report of this run; reads the records the runner stored."""
    from omegaconf import OmegaConf

    records = {}
    for name in ctx.results:
        p = ctx.run_dir / "stages" / f"{name}.json"
        if ctx.results[name] is None:
            records[name] = {"status": "skipped"}
        elif p.is_file():
            rec = json.loads(p.read_text())
            records[name] = {"seconds": rec["seconds"], "status": f"finished {rec['finished']}"}
    (ctx.run_dir / "config.yaml").write_text(OmegaConf.to_yaml(ctx.cfg, resolve=True))
    path = write_report({k: v for k, v in ctx.results.items() if v}, records, ctx.run_dir, ctx.cfg)
    return {"report": str(path), "headline": headline(ctx.results), "files": [str(path)]}
