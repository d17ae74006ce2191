"""CTC vocabulary: blank, word separator, apostrophe and a-z, optionally with subword pieces.

Characters rather than subwords: the corpus vocabulary is open (generated names, e-mail
user names, street names), so a character model spells words it never saw, needs no
tokenizer to train or ship, and gives CTC forced alignment one token per letter. The
40 ms output frames leave room for it: the corpus speaks 14.5 characters a second at
most on average against 25 frames a second. Subword pieces (:func:`learn_subwords`, BPE
merges inside words) were measured against characters on the same recipe and budget and
lost clearly (dev WER 94% against 71% after 12 epochs; see docs/DESIGN.md).
"""

from __future__ import annotations

BLANK, SEPARATOR = "<blank>", "|"
CHARS: tuple[str, ...] = (BLANK, SEPARATOR, "'", *"abcdefghijklmnopqrstuvwxyz")


class CharVocab:
    """Maps normalised text (lower case, single spaces) to token ids and back.

    Tokens longer than one character are subword pieces inside words: a word is then split
    greedily into the longest pieces that match, left to right.
    """

    def __init__(self, tokens: tuple[str, ...] | list[str] = CHARS):
        self.tokens = list(tokens)
        if self.tokens[0] != BLANK or SEPARATOR not in self.tokens:
            raise ValueError(f"a CTC vocabulary starts with {BLANK!r} and holds {SEPARATOR!r}")
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.separator = self.index[SEPARATOR]
        self.longest = max(len(t) for t in self.tokens if t != BLANK)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; characters outside the vocabulary are dropped."""
        ids: list[int] = []
        for word in text.lower().split():
            word = "".join(ch for ch in word if ch in self.index and ch != SEPARATOR)
            pieces = self._pieces(word)
            if pieces:
                ids += [self.separator, *pieces] if ids else pieces
        return ids

    def _pieces(self, word: str) -> list[int]:
        if self.longest == 1:
            return [self.index[ch] for ch in word]
        out, i = [], 0
        while i < len(word):
            for n in range(min(self.longest, len(word) - i), 0, -1):
                if word[i : i + n] in self.index:
                    out.append(self.index[word[i : i + n]])
                    i += n
                    break
        return out

    def decode(self, ids) -> str:
        """Text of a token-id sequence (already collapsed: no repeats or blanks to merge)."""
        chars = [self.tokens[i] for i in ids if i != 0]
        return " ".join("".join(chars).replace(SEPARATOR, " ").split())


def learn_subwords(texts, size: int) -> list[str]:
    """A vocabulary of ``size`` tokens: the characters plus byte-pair merges inside words,
    most frequent first, learned from ``texts``."""
    from collections import Counter
    from itertools import pairwise

    if size < len(CHARS):
        raise ValueError(f"a subword vocabulary holds at least the {len(CHARS)} characters")
    words = Counter(w for t in texts for w in t.lower().split())
    split = {w: [ch for ch in w if ch in CHARS[2:]] for w in words}
    tokens = list(CHARS)
    while len(tokens) < size:
        pairs: Counter = Counter()
        for w, n in words.items():
            for a, b in pairwise(split[w]):
                pairs[a, b] += n
        if not pairs:
            break
        (a, b), _ = pairs.most_common(1)[0]
        tokens.append(a + b)
        for w, parts in split.items():
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            split[w] = merged
    return tokens
