"""Is a wake-word recipe reliable? Evaluate every run of it (one per seed) on one or more corpora.

One training run can land on either side of the 0.5 false accepts per hour target: at that
operating point the threshold must sit above the single strongest negative of the stream, and a
held-out voice passes or fails as a whole. So a recipe is judged on all its seeds, and on an
independent draw of the test voices (the "check" corpus: another corpus seed). Each run is
scored by :func:`speech.kws.evaluate.evaluate_kws` on clean positives (the same thresholds and
false-accept counting as ``python -m speech.evaluate``); the table gives the false-reject rate
at 0.5 / 1 / 5 / 10 FA/h and the voices that lose positives at 0.5 FA/h, and the verdict says
whether every run of a recipe meets the target.

    python -m experiments.kws_seeds --corpus corpora/default-1e3bd733 \\
        --corpus corpora/check-c04b8fbf \\
        shipped/0=models/kws-hey-nova/model.pt accents/0=outputs/a0/best.pt accents/1=...

A run is named ``RECIPE/SEED=CHECKPOINT``; the recipe may contain spaces. Each run's
``report.json`` and ``det.png`` go to ``OUT/<corpus>/<recipe>-<seed>/`` (other characters than
letters, digits and ``.+-`` become ``_``), with ``source.json`` naming the checkpoint file they
came from: they are reused while it is the same file, unchanged. The table goes to
``OUT/summary.{json,md}``. ``--out`` defaults to ``outputs/kws-seeds``. A checkpoint that cannot
be loaded, or one for another wake phrase than the corpus's, stops the run with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from speech.checkpoint import CheckpointError, load_model
from speech.kws.evaluate import FA_TARGETS, evaluate_kws
from speech.kws.evaluate import frr_at as det_frr_at


@dataclass(frozen=True)
class Run:
    recipe: str
    seed: str
    checkpoint: Path

    @classmethod
    def parse(cls, arg: str) -> Run:
        name, sep, path = arg.partition("=")
        recipe, slash, seed = name.rpartition("/")
        if not sep or not slash or not recipe or not seed or not path:
            raise ValueError(f"{arg!r}: expected RECIPE/SEED=CHECKPOINT, e.g. accents/1=best.pt")
        return cls(recipe, seed, Path(path))


def frr_at(report: dict[str, Any], fa_per_hour: float) -> float:
    """Clean false-reject rate at the lowest threshold within ``fa_per_hour`` (1.0 if none)."""
    return det_frr_at(report["det"]["fa_per_hour"], report["det"]["frr_clean"], fa_per_hour)


def row(run: Run, corpus: str, report: dict[str, Any]) -> dict[str, Any]:
    # The threshold chosen on the stream's even chunks, false accepts counted on the odd ones.
    held = dict(report.get("held_out_threshold", {}))
    if held:
        held["frr"] = held["frr"]["clean"]
    return {
        "recipe": run.recipe,
        "seed": run.seed,
        "corpus": corpus,
        "checkpoint": str(run.checkpoint),
        "positives": report["positives"],
        "stream_hours": report["stream_hours"],
        "threshold": report["operating_point"]["threshold"],
        "frr": {f"{t:g}": round(frr_at(report, t), 4) for t in FA_TARGETS},
        "held_out": held,
        "failing_voices": {
            voice: s["frr"] for voice, s in sorted(report["per_speaker"].items()) if s["frr"] > 0
        },
    }


def verdicts(rows: list[dict[str, Any]], max_frr: float, corpus: str) -> dict[str, dict]:
    """Per recipe: does every seed meet ``max_frr`` at 0.5 FA/h on ``corpus``?

    ``meets`` is None for a recipe with a single seed: one run cannot show reliability.
    """
    out: dict[str, dict] = {}
    for r in rows:
        if r["corpus"] != corpus:
            continue
        v = out.setdefault(r["recipe"], {"seeds": [], "frr": [], "meets": True})
        v["seeds"].append(r["seed"])
        v["frr"].append(r["frr"]["0.5"])
        v["meets"] = v["meets"] and r["frr"]["0.5"] <= max_frr
    for v in out.values():
        v["mean_frr"] = round(float(np.mean(v["frr"])), 4)
        if len(v["seeds"]) < 2:  # one seed cannot show that a recipe is reliable
            v["meets"] = None
    return out


def markdown(rows: list[dict[str, Any]], verdict: dict[str, dict], max_frr: float) -> str:
    """One corpus's rows as a Markdown table, then a verdict line per recipe."""
    at = " / ".join(f"{t:g}" for t in FA_TARGETS)
    lines = [
        f"| recipe | seed | FRR at {at} FA/h | threshold | voices losing positives "
        "| threshold from half the stream: FRR, FA/h on the other half |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        frr = " / ".join(f"{100 * v:.1f}%" for v in r["frr"].values())
        bad = ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["failing_voices"].items()) or "-"
        h = r.get("held_out") or {}
        held = (
            f"{100 * h['frr']:.1f}%, {h['fa_per_hour']:g} ({h['false_accepts']} in "
            f"{h['stream_hours']:g} h)"
            if h
            else "-"
        )
        lines.append(
            f"| {r['recipe']} | {r['seed']} | {frr} | {r['threshold']:.4f} | {bad} | {held} |"
        )
    lines.append("")
    target = f"FRR <= {100 * max_frr:g}% at 0.5 FA/h"
    for recipe, v in verdict.items():
        seeds = ", ".join(f"{s}: {100 * f:.1f}%" for s, f in zip(v["seeds"], v["frr"], strict=True))
        word = {
            True: f"meets {target} on every seed",
            False: f"does not meet {target} on every seed",
            None: f"has one seed: it cannot show {target} on every seed",
        }[v["meets"]]
        lines.append(f"- {recipe} {word} ({seeds}; mean {100 * v['mean_frr']:.1f}%).")
    return "\n".join(lines) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")


def _source(checkpoint: Path) -> dict[str, Any]:
    st = checkpoint.stat()
    return {"checkpoint": str(checkpoint.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def evaluate(run: Run, corpus: Path, out: Path, progress: bool) -> dict[str, Any]:
    """The run's report on ``corpus``; reused while ``source.json`` names the same checkpoint file
    (path, size and modification time), recomputed otherwise."""
    report_file, source_file = out / "report.json", out / "source.json"
    source = _source(run.checkpoint)
    fresh = source_file.exists() and json.loads(source_file.read_text()) == source
    if fresh and report_file.exists():
        report = json.loads(report_file.read_text())
        if (
            "false_accepts" in report["operating_point"]
        ):  # else written before commit 1e3f8df (2026-11-26): redo
            return report
    source_file.unlink(missing_ok=True)
    model, meta = load_model(run.checkpoint, task="kws")
    report = evaluate_kws(model.eval(), meta, corpus, out, snrs=(), progress=progress)
    source_file.write_text(json.dumps(source))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.kws_seeds", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("runs", nargs="+", help="RECIPE/SEED=CHECKPOINT")
    p.add_argument("--corpus", type=Path, action="append", required=True, help="repeatable")
    p.add_argument("--out", type=Path, default=Path("outputs/kws-seeds"))
    p.add_argument("--max-frr", type=float, default=0.05, help="target FRR at 0.5 FA/h")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    try:
        runs = [Run.parse(a) for a in args.runs]
    except ValueError as err:
        p.error(str(err))
    twice = sorted(
        f"{r}/{s}" for (r, s), n in Counter((r.recipe, r.seed) for r in runs).items() if n > 1
    )
    if twice:
        p.error(f"each RECIPE/SEED may be given once: {', '.join(twice)} repeated")
    for path in [r.checkpoint for r in runs] + [c / "manifest.jsonl" for c in args.corpus]:
        if not path.exists():
            p.error(f"{path}: not found")

    rows = []
    for corpus in args.corpus:
        for run in runs:
            out = args.out / corpus.name / _slug(f"{run.recipe}-{run.seed}")
            try:
                report = evaluate(run, corpus, out, progress=not args.no_progress)
            except (CheckpointError, ValueError) as err:  # a bad checkpoint, another phrase
                print(f"error: {run.recipe}/{run.seed} on {corpus}: {err}", file=sys.stderr)
                return 2
            rows.append(row(run, corpus.name, report))
    verdict = {c.name: verdicts(rows, args.max_frr, c.name) for c in args.corpus}
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"max_frr": args.max_frr, "rows": rows, "verdicts": verdict}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    text = "".join(
        f"## {name}\n\n{markdown([r for r in rows if r['corpus'] == name], v, args.max_frr)}\n"
        for name, v in verdict.items()
    )
    (args.out / "summary.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
