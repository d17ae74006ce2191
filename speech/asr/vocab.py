"""CTC vocabulary: blank, word separator, apostrophe and a-z.

Characters rather than subwords: the corpus vocabulary is open (generated names, e-mail
user names, street names), so a character model spells words it never saw, needs no
tokenizer to train or ship, and gives CTC forced alignment one token per letter. The
40 ms output frames leave room for it: the corpus speaks 14.5 characters a second at
most on average against 25 frames a second. Subword pieces (BPE merges inside words) were
measured against characters on the same recipe and budget, lost clearly (dev WER 94% against
71% after 12 epochs; docs/DESIGN.md) and were retired.
"""

from __future__ import annotations

BLANK, SEPARATOR = "<blank>", "|"
CHARS: tuple[str, ...] = (BLANK, SEPARATOR, "'", *"abcdefghijklmnopqrstuvwxyz")


class CharVocab:
    """Maps normalised text (lower case, single spaces) to token ids and back."""

    def __init__(self, tokens: tuple[str, ...] | list[str] = CHARS):
        self.tokens = list(tokens)
        if self.tokens[0] != BLANK or SEPARATOR not in self.tokens:
            raise ValueError(f"a CTC vocabulary starts with {BLANK!r} and holds {SEPARATOR!r}")
        if any(len(t) != 1 for t in self.tokens if t != BLANK):
            raise ValueError(
                "a character vocabulary holds single characters (subwords were retired)"
            )
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.separator = self.index[SEPARATOR]

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; characters outside the vocabulary are dropped."""
        ids: list[int] = []
        for word in text.lower().split():
            word = "".join(ch for ch in word if ch in self.index and ch != SEPARATOR)
            pieces = [self.index[ch] for ch in word]
            if pieces:
                ids += [self.separator, *pieces] if ids else pieces
        return ids

    def decode(self, ids) -> str:
        """Text of a token-id sequence (already collapsed: no repeats or blanks to merge)."""
        chars = [self.tokens[i] for i in ids if i != 0]
        return " ".join("".join(chars).replace(SEPARATOR, " ").split())
