"""From CTC log-probabilities to words with times and confidences.

* :func:`greedy` takes the best token per frame and collapses repeats and blanks.
* :class:`BeamSearch` is flashlight's lexicon-free beam search (through torchaudio) with the
  character n-gram of :mod:`speech.asr.lm`.
* :func:`align_words` force-aligns a transcript to the frames (``torchaudio.functional.
  forced_align``): each word gets a start, an end and a confidence, the lowest mean
  posterior of its letters along the alignment. A word the language model imposed on weak
  acoustic evidence therefore comes out with a low confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
import torchaudio.functional as AF
from torch import Tensor

from speech.asr.lm import CharNgram, DecoderLM
from speech.asr.vocab import BLANK, SEPARATOR, CharVocab


@dataclass
class WordHyp:
    w: str
    start: float
    end: float
    conf: float

    def as_dict(self) -> dict:
        return {
            "w": self.w,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "conf": round(self.conf, 3),
        }


def greedy(log_probs: Tensor, vocab: CharVocab) -> str:
    """Best path of one utterance's (T, V) log-probabilities, as text."""
    best = torch.unique_consecutive(log_probs.argmax(-1))
    return vocab.decode([int(i) for i in best if int(i) != 0])


class BeamSearch:
    """Lexicon-free CTC beam search with an optional character LM.

    Args:
        vocab: the model's vocabulary.
        lm: character n-gram, or None for acoustic scores only.
        beam_size: hypotheses kept per frame.
        lm_weight: weight of the LM log-probability per character.
        word_bonus: score added at each word boundary (flashlight's ``sil_score``; its
            ``word_score`` does nothing without a lexicon); balances the LM's pull towards
            fewer, longer words.
    """

    def __init__(
        self,
        vocab: CharVocab,
        lm: CharNgram | None = None,
        *,
        beam_size: int = 32,
        lm_weight: float = 0.5,
        word_bonus: float = 0.0,
    ):
        from torchaudio.models.decoder import ctc_decoder

        self.vocab = vocab
        self.decoder = ctc_decoder(
            lexicon=None,
            tokens=vocab.tokens,
            lm=DecoderLM(lm, vocab.separator) if lm is not None else None,
            beam_size=beam_size,
            beam_size_token=min(len(vocab), 12),
            beam_threshold=25.0,
            lm_weight=lm_weight if lm is not None else 0.0,
            sil_score=word_bonus,
            blank_token=BLANK,
            sil_token=SEPARATOR,
        )

    def __call__(self, log_probs: Tensor) -> str:
        """Text of one utterance's (T, V) log-probabilities."""
        hyps = self.decoder(log_probs[None].float().cpu().contiguous())
        if not hyps or not hyps[0]:
            return ""
        return self.vocab.decode([int(t) for t in hyps[0][0].tokens])


def align_words(
    log_probs: Tensor,
    text: str,
    vocab: CharVocab,
    *,
    frame_seconds: float,
    offsets: tuple[float, ...] = (0.0, 0.0),
) -> list[WordHyp]:
    """Start, end and confidence of every word of ``text`` in one utterance.

    Args:
        log_probs: (T, V) of the utterance.
        text: the transcript to place (a hypothesis or a reference).
        frame_seconds: duration of one output frame.
        offsets: seconds added to word times, the model's measured bias (see
            :func:`time_offsets`): ``(start, end)`` for every word, or ``(start, end,
            first start, last end)`` where the utterance's first word starts and its last
            word ends (next to silence, where CTC places letters differently).
    """
    words = text.split()
    ids = vocab.encode(text)
    if not words or not ids:
        return []
    targets = torch.tensor([ids], dtype=torch.int32)
    if targets.shape[1] + sum(a == b for a, b in pairwise(ids)) > log_probs.shape[0]:
        return _spread(words, log_probs.shape[0] * frame_seconds)  # too short to align
    labels, scores = AF.forced_align(log_probs[None].float().cpu(), targets, blank=0)
    spans = AF.merge_tokens(labels[0], scores[0].exp())
    out, current = [], []
    for span in [*spans, None]:
        if span is None or span.token == vocab.separator:
            if current:
                out.append(current)
            current = []
        else:
            current.append(span)
    if len(out) != len(words):  # apostrophe-only or dropped characters: fall back to spreading
        return _spread(words, log_probs.shape[0] * frame_seconds)
    placed = [
        WordHyp(
            w, s[0].start * frame_seconds, s[-1].end * frame_seconds, float(min(x.score for x in s))
        )
        for w, s in zip(words, out, strict=True)
    ]
    return apply_offsets(placed, offsets, log_probs.shape[0] * frame_seconds)


def apply_offsets(
    placed: list[WordHyp], offsets: tuple[float, ...], duration: float
) -> list[WordHyp]:
    """Copies of ``placed`` shifted by ``offsets`` (see :func:`align_words`), kept inside
    ``[0, duration]``; neighbours the shift makes overlap meet halfway."""
    start_off, end_off = offsets[0], offsets[1]
    first_off, last_off = (offsets[2], offsets[3]) if len(offsets) == 4 else offsets[:2]
    last = len(placed) - 1
    out = [
        WordHyp(
            p.w,
            max(0.0, p.start + (first_off if i == 0 else start_off)),
            min(duration, p.end + (last_off if i == last else end_off)),
            p.conf,
        )
        for i, p in enumerate(placed)
    ]
    for a, b in pairwise(out):
        if a.end > b.start:
            a.end = b.start = round((a.end + b.start) / 2, 6)
    return out


def time_offsets(pairs) -> tuple[float, float, float, float]:
    """The ``offsets`` for :func:`align_words` that cancel a model's median timing bias.

    Args:
        pairs: (words placed with zero offsets, reference words) per utterance; utterances
            whose word counts differ are skipped.

    Returns:
        minus the median bias of (starts, ends, first starts, last ends), in seconds.
    """
    starts, ends, firsts, lasts = [], [], [], []
    for placed, truth in pairs:
        if not placed or len(placed) != len(truth):
            continue
        firsts.append(placed[0].start - truth[0].start)
        lasts.append(placed[-1].end - truth[-1].end)
        starts += [p.start - r.start for p, r in zip(placed[1:], truth[1:], strict=True)]
        ends += [p.end - r.end for p, r in zip(placed[:-1], truth[:-1], strict=True)]
    med = lambda v: -float(np.median(v)) if v else 0.0  # noqa: E731
    return (med(starts), med(ends), med(firsts or starts), med(lasts or ends))


def _spread(words: list[str], seconds: float) -> list[WordHyp]:
    step = seconds / max(1, len(words))
    return [WordHyp(w, i * step, (i + 1) * step, 0.0) for i, w in enumerate(words)]
