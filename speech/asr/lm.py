"""A character n-gram language model for lexicon-free CTC beam search.

Lexicon-free because the words that matter most to redaction (names, e-mail user names,
street names) are open-vocabulary: a character LM scores spellings it never saw instead of
forcing them onto a word list. Interpolated Witten-Bell smoothing; the model is a few
plain dicts, so it travels inside the checkpoint (``extra["lm"]``) and loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from torchaudio.models.decoder import CTCDecoderLM, CTCDecoderLMState

from speech.asr.vocab import CharVocab

END = -1  # end of sentence, as a token id


class CharNgram:
    """Witten-Bell interpolated character n-gram over token ids of a :class:`CharVocab`.

    Args:
        order: n (context of n-1 tokens).
        counts: ``{context string: {token id: count}}`` as built by :meth:`train`;
            contexts are token ids joined by ``,``.
        vocab_size: number of tokens (blank included, never predicted).
    """

    def __init__(self, order: int, counts: dict[str, dict[int, int]], vocab_size: int):
        self.order = order
        self.counts = counts
        self.vocab_size = vocab_size
        self.totals = {c: sum(v.values()) for c, v in counts.items()}
        self._cache: dict[tuple[tuple[int, ...], int], float] = {}

    @classmethod
    def train(cls, texts: Iterable[str], vocab: CharVocab, order: int = 6) -> CharNgram:
        counts: dict[str, Counter] = defaultdict(Counter)
        for text in texts:
            ids = [vocab.separator, *vocab.encode(text), END]
            for i in range(1, len(ids)):
                for n in range(order):  # contexts of length 0 .. order-1
                    if i - n < 0:
                        break
                    counts[",".join(map(str, ids[i - n : i]))][ids[i]] += 1
        return cls(order, {c: dict(v) for c, v in counts.items()}, len(vocab))

    def pruned(self, min_count: int) -> CharNgram:
        """A copy without the contexts (longer than one token) seen fewer than ``min_count``
        times; their probabilities back off to the shorter contexts. Shrinks the checkpoint."""
        keep = {
            c: t for c, t in self.counts.items() if c.count(",") == 0 or self.totals[c] >= min_count
        }
        return CharNgram(self.order, keep, self.vocab_size)

    def as_dict(self) -> dict:
        return {"order": self.order, "vocab_size": self.vocab_size, "counts": self.counts}

    @classmethod
    def from_dict(cls, d: dict) -> CharNgram:
        counts = {c: {int(k): int(v) for k, v in t.items()} for c, t in d["counts"].items()}
        return cls(int(d["order"]), counts, int(d["vocab_size"]))

    def prob(self, context: tuple[int, ...], token: int) -> float:
        """P(token | context), interpolated from the empty context up."""
        key = (context[-(self.order - 1) :] if self.order > 1 else (), token)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        p = 1.0 / self.vocab_size  # uniform floor (blank's slot stands in for END)
        ctx = key[0]
        for n in range(len(ctx) + 1):
            c = ",".join(map(str, ctx[len(ctx) - n :]))
            seen = self.counts.get(c)
            if seen is None:
                break
            total, types = self.totals[c], len(seen)
            lam = total / (total + types)
            p = lam * seen.get(token, 0) / total + (1 - lam) * p
        self._cache[key] = p
        return p

    def logprob(self, context: tuple[int, ...], token: int) -> float:
        return math.log(self.prob(context, token))

    def perplexity(self, texts: Iterable[str], vocab: CharVocab) -> float:
        total, n = 0.0, 0
        for text in texts:
            ids = [vocab.separator, *vocab.encode(text), END]
            for i in range(1, len(ids)):
                total -= self.logprob(tuple(ids[max(0, i - self.order + 1) : i]), ids[i])
                n += 1
        return math.exp(total / max(1, n))


class DecoderLM(CTCDecoderLM):
    """Adapts a :class:`CharNgram` to flashlight's lexicon-free decoder (token-level scores)."""

    def __init__(self, lm: CharNgram, separator: int):
        CTCDecoderLM.__init__(self)
        self.lm = lm
        self.separator = separator
        self.context: dict[CTCDecoderLMState, tuple[int, ...]] = {}

    def start(self, start_with_nothing: bool):
        self.context = {}
        state = CTCDecoderLMState()
        self.context[state] = (self.separator,)
        return state

    def score(self, state, usr_token_idx: int):
        child = state.child(usr_token_idx)
        ctx = self.context[state]
        if child not in self.context:
            self.context[child] = (*ctx, usr_token_idx)[-(self.lm.order - 1) :]
        return child, self.lm.logprob(ctx, usr_token_idx)

    def finish(self, state):
        return state, self.lm.logprob(self.context[state], END)


def lm_texts(n: int, *, seed: int, wake_phrase: str = "hey nova") -> list[str]:
    """``n`` sentences from the corpus's own templates, for households no split uses.

    The corpus seeds households below 2**31 (:mod:`speech.data.plan`); these seeds lie
    above it, so the LM learns the templates and the kinds of names, not a test household's.
    """
    import random

    from speech.data.text import TextGenerator, make_household

    rng = random.Random(seed)
    texts: list[str] = []
    while len(texts) < n:
        hseed = 2**31 + rng.randrange(2**31)
        gen = TextGenerator(
            make_household(f"lm-{hseed}", hseed),
            wake_phrase=wake_phrase,
            confusables=[],
            seed=hseed,
        )
        for _ in range(40):
            texts.append(gen.request().text)
            if rng.random() < 0.3:
                texts.append(gen.ordinary())
    return texts[:n]


def build_lm(
    sentences: int, *, order: int, prune: int, seed: int = 0, wake_phrase: str = "hey nova"
) -> CharNgram:
    """The recognizer's LM: ``sentences`` template sentences (:func:`lm_texts`), an
    ``order``-gram, contexts seen fewer than ``prune`` times dropped."""
    from speech.asr.vocab import CharVocab

    lm = CharNgram.train(
        lm_texts(sentences, seed=seed, wake_phrase=wake_phrase), CharVocab(), order
    )
    return lm.pruned(prune) if prune > 1 else lm
