"""Word-level PII metrics on the held-out evaluation set, and the command that prints them.

    python -m redaction.pii.metrics --split test                 # both styles, 2,000 sentences each
    python -m redaction.pii.metrics --split test --peer presidio # Presidio on the same sentences
    python -m redaction.pii.metrics --split dev --errors 20      # misses and false alarms (dev only)
    python -m redaction.pii.metrics --special --split test       # special categories, 2,000 requests

Figures:

* per label, word-level precision and recall (a word counts for a label when a span of that label
  covers it);
* per label, *covered*: the share of gold entities whose every word lies inside some predicted span
  of any label (for redaction any label masks it);
* over-masking: on PII-free requests, the share of requests with any span, and of words masked.

With ``--special``, the special categories on :mod:`redaction.data.special_templates` (half hard
negatives): per category, clip-level precision and recall (a clip counts for a category when any
span of it fired; this is what decides withholding or the content warning) and word-level precision
and recall; then the same label-blind ("any category") and the share of hard negatives flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redaction.pii.recognizer import PII_LABELS, SPECIAL_LABELS
from redaction.spans import Span

Predict = Callable[[Sequence[str]], Iterable[Span]]
# Targets from the issue (recall per label; precision for every label).
RECALL_TARGETS = {
    "PHONE_NUMBER": 0.99,
    "CREDIT_CARD": 0.99,
    "US_SSN": 0.99,
    "PERSON": 0.95,
    "STREET_ADDRESS": 0.95,
}
PRECISION_TARGET = 0.95


@dataclass
class Report:
    """Counts over a set of records; ratios come from the properties."""

    tp: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pred: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gold: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    entities: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    covered: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    masked_words: int = 0
    masked_pii_words: int = 0
    free_requests: int = 0
    free_flagged: int = 0
    free_words: int = 0
    free_masked: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def precision(self, label: str) -> float | None:
        """Word-level precision of ``label`` (None when nothing was predicted)."""
        return self.tp[label] / self.pred[label] if self.pred[label] else None

    def recall(self, label: str) -> float | None:
        """Word-level recall of ``label`` (None when there is no gold)."""
        return self.tp[label] / self.gold[label] if self.gold[label] else None

    def coverage(self, label: str) -> float | None:
        """Share of gold ``label`` entities whose every word some span masks."""
        return self.covered[label] / self.entities[label] if self.entities[label] else None

    @property
    def over_masking(self) -> float:
        """Share of PII-free requests in which anything was masked."""
        return self.free_flagged / self.free_requests if self.free_requests else 0.0

    @property
    def masked_word_precision(self) -> float | None:
        """Share of masked words that are PII of any label (label-blind precision)."""
        return self.masked_pii_words / self.masked_words if self.masked_words else None

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain data (for JSON)."""
        labels = sorted(set(self.gold) | set(self.pred), key=_label_order)
        return {
            "labels": {
                lab: {
                    "precision": self.precision(lab),
                    "recall": self.recall(lab),
                    "covered": self.coverage(lab),
                    "gold_words": self.gold[lab],
                    "predicted_words": self.pred[lab],
                    "entities": self.entities[lab],
                }
                for lab in labels
            },
            "masked_word_precision": self.masked_word_precision,
            "over_masking": self.over_masking,
            "pii_free_requests": self.free_requests,
            "pii_free_words_masked": self.free_masked / self.free_words if self.free_words else 0.0,
        }


def _label_order(label: str) -> tuple[int, str]:
    return (PII_LABELS.index(label) if label in PII_LABELS else len(PII_LABELS), label)


def evaluate(
    records: Iterable[dict[str, Any]], predict: Predict, *, keep_errors: int = 0
) -> Report:
    """Score ``predict`` on records ``{words, spans}`` (gold spans ``{label, start, end}``)."""
    rep = Report()
    for rec in records:
        words = rec["words"]
        gold = [(g["label"], g["start"], g["end"]) for g in rec["spans"]]
        pred = list(predict(words))
        pred_words: dict[str, set[int]] = defaultdict(set)
        for s in pred:
            pred_words[s.label].update(range(s.start, s.end))
        gold_words: dict[str, set[int]] = defaultdict(set)
        for label, a, b in gold:
            gold_words[label].update(range(a, b))
        for label in set(pred_words) | set(gold_words):
            rep.tp[label] += len(pred_words[label] & gold_words[label])
            rep.pred[label] += len(pred_words[label])
            rep.gold[label] += len(gold_words[label])
        masked = set().union(*pred_words.values()) if pred_words else set()
        any_gold = set().union(*gold_words.values()) if gold_words else set()
        rep.masked_words += len(masked)
        rep.masked_pii_words += len(masked & any_gold)
        missed = []
        for label, a, b in gold:
            rep.entities[label] += 1
            if set(range(a, b)) <= masked:
                rep.covered[label] += 1
            else:
                missed.append(label)
        if not gold:
            rep.free_requests += 1
            rep.free_words += len(words)
            rep.free_flagged += bool(masked)
            rep.free_masked += len(masked)
        wrong = {(s.label, s.start, s.end) for s in pred} ^ set(gold)
        if wrong and len(rep.errors) < keep_errors:
            rep.errors.append(
                {
                    "words": " ".join(words),
                    "gold": [(lab, " ".join(words[a:b])) for lab, a, b in gold],
                    "pred": [(s.label, " ".join(words[s.start : s.end]), s.score) for s in pred],
                    "missed": missed,
                }
            )
    return rep


def format_report(rep: Report, title: str) -> str:
    """A table: label, precision, recall, covered, gold words; then over-masking."""
    fmt = lambda x: "   -  " if x is None else f"{x:6.3f}"  # noqa: E731
    lines = [
        title,
        f"{'label':16s} {'prec':>6s} {'recall':>6s} {'cover':>6s} {'words':>6s}  target",
    ]
    for lab, d in rep.as_dict()["labels"].items():
        target = []
        if lab in RECALL_TARGETS:
            target.append(_mark(d["recall"], RECALL_TARGETS[lab], f"R>={RECALL_TARGETS[lab]}"))
        if d["precision"] is not None:
            target.append(_mark(d["precision"], PRECISION_TARGET, f"P>={PRECISION_TARGET}"))
        lines.append(
            f"{lab:16s} {fmt(d['precision'])} {fmt(d['recall'])} {fmt(d['covered'])} "
            f"{d['gold_words']:6d}  {' '.join(target)}"
        )
    lines.append(
        f"masked words that are PII (any label): {fmt(rep.masked_word_precision)}; "
        f"over-masking: {rep.free_flagged}/{rep.free_requests} PII-free requests "
        f"({rep.over_masking:.3f}) had something masked"
    )
    return "\n".join(lines)


def _mark(value: float | None, target: float, text: str) -> str:
    return f"{text}:{'ok' if value is not None and value >= target else 'MISS'}"


@dataclass
class SpecialReport:
    """Clip-level counts per special category (and ``ANY``), beside the word-level :class:`Report`."""

    words: Report = field(default_factory=Report)
    tp: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pred: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gold: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    clips: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def precision(self, label: str) -> float | None:
        """Clip-level precision of ``label`` (``ANY``: any category, label-blind)."""
        return self.tp[label] / self.pred[label] if self.pred[label] else None

    def recall(self, label: str) -> float | None:
        """Clip-level recall of ``label`` (``ANY``: any category, label-blind)."""
        return self.tp[label] / self.gold[label] if self.gold[label] else None

    @property
    def negatives(self) -> int:
        """Clips with no category (the hard negatives)."""
        return self.clips - self.gold["ANY"]

    @property
    def negatives_flagged(self) -> int:
        """Hard negatives in which some category fired."""
        return self.pred["ANY"] - self.tp["ANY"]

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain data (for JSON)."""
        w = self.words
        return {
            "labels": {
                lab: {
                    "clip_precision": self.precision(lab),
                    "clip_recall": self.recall(lab),
                    "word_precision": w.precision(lab) if lab != "ANY" else None,
                    "word_recall": w.recall(lab) if lab != "ANY" else None,
                    "clips": self.gold[lab],
                    "gold_words": w.gold[lab] if lab != "ANY" else None,
                }
                for lab in (*SPECIAL_LABELS, "ANY")
            },
            "clips": self.clips,
            "hard_negatives": self.negatives,
            "hard_negatives_flagged": self.negatives_flagged,
        }


def evaluate_special(
    records: Iterable[dict[str, Any]], predict: Predict, *, keep_errors: int = 0
) -> SpecialReport:
    """Score ``predict`` on records ``{words, categories, spans}`` of special categories.

    Only spans labelled with a special category count; PII spans are ignored. ``keep_errors``
    keeps that many clips whose fired categories differ from the gold ones.
    """
    rep = SpecialReport()
    records = list(records)
    cache: dict[tuple[str, ...], list[Span]] = {}

    def special(words: Sequence[str]) -> list[Span]:
        key = tuple(words)
        if key not in cache:
            cache[key] = [s for s in predict(words) if s.label in SPECIAL_LABELS]
        return cache[key]

    rep.words = evaluate(records, special)
    for rec in records:
        rep.clips += 1
        gold = set(rec["categories"])
        fired = {s.label for s in special(rec["words"])}
        for lab in gold | fired:
            rep.tp[lab] += lab in gold and lab in fired
            rep.pred[lab] += lab in fired
            rep.gold[lab] += lab in gold
        rep.tp["ANY"] += bool(gold) and bool(fired)
        rep.pred["ANY"] += bool(fired)
        rep.gold["ANY"] += bool(gold)
        if gold != fired and len(rep.errors) < keep_errors:
            words = rec["words"]
            rep.errors.append(
                {
                    "words": " ".join(words),
                    "gold": sorted(gold),
                    "fired": [(s.label, " ".join(words[s.start : s.end])) for s in special(words)],
                }
            )
    return rep


def format_special(rep: SpecialReport, title: str) -> str:
    """A table: category, clip precision and recall, word precision and recall, gold clips."""
    fmt = lambda x: "   -  " if x is None else f"{x:6.3f}"  # noqa: E731
    lines = [
        title,
        f"{'category':12s} {'clip P':>6s} {'clip R':>6s} {'word P':>6s} {'word R':>6s} {'clips':>6s}",
    ]
    for lab, d in rep.as_dict()["labels"].items():
        lines.append(
            f"{lab:12s} {fmt(d['clip_precision'])} {fmt(d['clip_recall'])} "
            f"{fmt(d['word_precision'])} {fmt(d['word_recall'])} {d['clips']:6d}"
        )
    share = rep.negatives_flagged / rep.negatives if rep.negatives else 0.0
    lines.append(f"hard negatives flagged: {rep.negatives_flagged}/{rep.negatives} ({share:.3f})")
    return "\n".join(lines)


def special_detector() -> Predict:
    """The deployed special-category path: the analyzer with its special recognizer."""
    from redaction.pii.analyzer import Analyzer
    from redaction.pii.special import SpecialCategoryRecognizer

    return Analyzer([SpecialCategoryRecognizer()], special=True)


def _main_special(args: argparse.Namespace) -> int:
    from redaction.data.special_templates import load

    records = load(args.split, args.n, args.seed)
    rep = evaluate_special(records, special_detector(), keep_errors=args.errors)
    print(format_special(rep, f"== sottovoce special categories, {args.split} split, n={args.n}, seed={args.seed}"))  # fmt: skip
    for e in rep.errors:
        print(json.dumps(e))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"detector": "sottovoce special", "split": args.split, "n": args.n, "seed": args.seed, **rep.as_dict()}, f, indent=1)  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m redaction.pii.metrics", description=__doc__.split("\n")[0])  # fmt: skip
    p.add_argument("--split", choices=["dev", "test"], default="test")
    p.add_argument("--n", type=int, default=2000, help="sentences per style (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--style", nargs="+", choices=["spoken", "written"], default=["spoken", "written"])  # fmt: skip
    p.add_argument(
        "--peer",
        choices=["presidio", "presidio-nodates"],
        help="score Presidio instead (presidio-nodates: without its DATE_TIME entity)",
    )
    p.add_argument("--spacy", action="store_true", help="add the spaCy NER recognizer")
    p.add_argument(
        "--errors", type=int, default=0, help="print this many wrong sentences (dev only)"
    )
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument(
        "--special",
        action="store_true",
        help="special categories (health, sex life, religion, politics, ethnicity) instead of PII",
    )
    args = p.parse_args(argv)
    if args.errors and args.split != "dev":
        p.error("--errors is for the dev split only: the test split is never tuned on")
    if args.special:
        if args.peer or args.spacy:
            p.error(
                "--special scores sottovoce's own special-category detector; drop --peer/--spacy"
            )
        return _main_special(args)

    from redaction.data.pii_templates import load

    if args.peer:
        from redaction.pii.presidio_peer import PresidioPeer

        nodates = args.peer == "presidio-nodates"
        predict: Predict = PresidioPeer(ignore=("DATE_TIME",) if nodates else ())
        name = "Presidio 2.2 (en_core_web_sm)" + (" without DATE_TIME" if nodates else "")
    else:
        from redaction.pii.analyzer import Analyzer, default_recognizers

        predict = Analyzer(default_recognizers(spacy=args.spacy), special=False)
        name = "sottovoce" + (" + spaCy NER" if args.spacy else "")
    results = {}
    for style in args.style:
        rep = evaluate(load(args.split, args.n, args.seed, style), predict, keep_errors=args.errors)
        print(format_report(rep, f"== {name}, {args.split} split, {style}, n={args.n}, seed={args.seed}"))  # fmt: skip
        for e in rep.errors:
            print(json.dumps(e))
        results[style] = rep.as_dict()
        print()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"detector": name, "split": args.split, "n": args.n, "seed": args.seed, **results}, f, indent=1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
