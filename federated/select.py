"""Choosing the round a federated run returns (``federated.select=best``).

Federated averaging of a well-trained wake word on small, noisy devices can gain in its first
rounds and lose later (experiments/results/federated.md). A run that selects keeps, among the
starting model (round 0) and the rounds it scored, the one whose pooled error on the devices'
*validation* clips is lowest, provided its central dev figure has not lost more than a set
amount against the start. Ties keep the earlier round. The devices' test clips are never read
to choose, so the gain a run reports on them stays an honest estimate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch


@dataclass
class Candidate:
    round: int
    val: float  # pooled FRR (wake word) or WER (recognizer) on the devices' validation clips
    central: float | None  # the central dev figure (None: no central corpus)
    eligible: bool
    threshold: float | None = None  # the 0.5 FA/h threshold it was scored at (wake word)


@dataclass
class RoundChoice:
    """The best round so far; :meth:`offer` each candidate in round order, round 0 first."""

    max_central_loss: float
    split: str | None = None  # the central split the guard reads
    candidates: list[Candidate] = field(default_factory=list)
    best: Candidate | None = None
    state: dict[str, torch.Tensor] | None = None

    @property
    def start_central(self) -> float | None:
        return self.candidates[0].central if self.candidates else None

    def offer(
        self,
        rnd: int,
        val: float,
        central: float | None,
        state: dict[str, torch.Tensor],
        threshold: float | None = None,
    ) -> Candidate:
        """Score round ``rnd``; keeps a copy of ``state`` when it is the best so far."""
        if not self.candidates and rnd != 0:
            raise ValueError("the starting model (round 0) must be offered first")
        if rnd == 0 and not math.isfinite(val):
            raise ValueError(
                "no device holds validation clips to choose a round with; raise "
                "federated.local_val_share or use federated.select=last"
            )
        if central is not None and math.isnan(central):  # nothing to guard with (no clips)
            central = None
        start = self.start_central if self.candidates else central
        ok = central is None or start is None or central <= start + self.max_central_loss + 1e-12
        cand = Candidate(rnd, float(val), central, ok, threshold)
        self.candidates.append(cand)
        if ok and math.isfinite(val) and state and (self.best is None or val < self.best.val):
            self.best = cand
            self.state = {k: v.detach().clone() for k, v in state.items()}
        return cand

    def unscorable(self, rnd: int) -> Candidate:
        """Round ``rnd`` could not be scored (e.g. no threshold reaches the target false-accept
        rate): a candidate that is never chosen."""
        cand = Candidate(rnd, math.nan, None, False)
        self.candidates.append(cand)
        return cand

    def summary(self) -> dict[str, Any]:
        return {
            "round": self.best.round if self.best else None,
            "guard_split": self.split,
            "max_central_loss": self.max_central_loss,
            "candidates": [asdict(c) for c in self.candidates],
        }
