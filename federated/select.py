"""Choosing the round a federated run returns (``federated.select=best``).

Federated averaging of a well-trained wake word on small, noisy devices can gain in its first
rounds and lose later (experiments/results/federated.md). A run that selects keeps, among the
starting model (round 0) and the rounds it scored, the one whose pooled error on the devices'
*validation* clips is lowest, provided its central dev figure has not lost more than a set
amount against the start. Ties keep the earlier round. The devices' test clips are never read
to choose, so the gain a run reports on them stays an honest estimate.

Under user-level DP the choice can be private (``federated.select_noise``): the server then
sees only :func:`noisy_mean` of the devices' bounded errors (:func:`device_errors`), each
scoring accounted in the user-level epsilon, and a later round must beat round 0 by a margin
(:attr:`NoisyMean.difference_std`) before it replaces it.
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
    """The best round so far; :meth:`offer` each candidate in round order, round 0 first.

    ``margin``: a later round is kept only if its validation figure is below round 0's by more
    than this (the private choice sets it to one standard deviation of a noisy difference).
    """

    max_central_loss: float
    split: str | None = None  # the central split the guard reads
    margin: float = 0.0
    private: bool = False  # the figures are noisy (federated.select_noise)
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
        beats_start = rnd == 0 or val < self.candidates[0].val - self.margin
        if (
            ok
            and math.isfinite(val)
            and state
            and beats_start
            and (self.best is None or val < self.best.val)
        ):
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
            "private": self.private,
            "margin": self.margin,
            "max_central_loss": self.max_central_loss,
            "candidates": [asdict(c) for c in self.candidates],
        }


def device_errors(per_device: dict[str, dict[str, float]], task: str) -> list[float]:
    """Each device's own validation error, bounded to [0, 1]: its FRR at the first threshold
    (wake word) or its WER (recognizer); devices without validation clips are left out."""
    out = []
    for d in per_device.values():
        if task == "kws":
            if d.get("positives", 0) > 0:
                out.append(min(1.0, max(0.0, d.get("rejected_0", 0) / d["positives"])))
        elif d.get("words", 0) > 0:
            out.append(min(1.0, max(0.0, d.get("word_errors", 0) / d["words"])))
    return out


@dataclass
class NoisyMean:
    """The private round choice's release: noisy sums of the devices' bounded errors and of
    the devices counted, and the mean the server may read from them."""

    total: float
    count: float
    noise_std: float

    @property
    def mean(self) -> float:
        return min(1.0, max(0.0, self.total / max(self.count, 1.0)))

    @property
    def difference_std(self) -> float:
        """About one standard deviation of the difference of two such means."""
        return math.sqrt(2.0) * self.noise_std / max(self.count, 1.0)


def noisy_mean(errors: list[float], noise_multiplier: float, rng) -> NoisyMean:
    """Gaussian mechanism on (sum of errors, count): adding or removing one device moves the
    pair by at most (1, 1), an L2 sensitivity of sqrt(2); ``rng`` is a numpy Generator."""
    std = noise_multiplier * math.sqrt(2.0)
    return NoisyMean(
        float(sum(errors) + rng.normal(0.0, std)), float(len(errors) + rng.normal(0.0, std)), std
    )
