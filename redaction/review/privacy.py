"""Reviewers' own privacy: their skill profile is perturbed before the service sees it.

A profile is a set of languages and a set of accents, each read as yes/no answers over a
fixed vocabulary. Each answer is released by randomized response (Warner 1965): kept with
probability ``p = e^eps / (1 + e^eps)``, flipped otherwise, which makes each answer
``eps``-locally differentially private; a whole profile of ``m`` answers is ``m * eps`` in
the worst case (sequential composition). The reviewer's browser does this
(``static/rr.js``, the same algorithm with ``crypto.getRandomValues``); this module is the
Python twin used by tests and by :func:`estimate_count`, the unbiased estimate an admin may
read instead of anyone's true answers (Duguépéroux & Allard's privacy-preserving
assignment: the platform assigns on perturbed profiles and learns only aggregates).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable, Sequence

_SYSTEM = secrets.SystemRandom()


def keep_probability(epsilon: float) -> float:
    """The probability that randomized response reports an answer truthfully."""
    if not epsilon > 0:
        raise ValueError(f"epsilon={epsilon}: must be > 0")
    return math.exp(epsilon) / (1.0 + math.exp(epsilon))


def perturb(
    selected: Iterable[str],
    vocab: Sequence[str],
    epsilon: float,
    rand: Callable[[], float] | None = None,
) -> list[str]:
    """Randomized response over ``vocab``: each item's yes/no answer kept or flipped.

    Args:
        selected: the true answers (items of ``vocab``; others are ignored).
        vocab: the questions, in the order their random draws are taken.
        epsilon: the per-answer privacy budget.
        rand: uniform draws in [0, 1), one per vocabulary item (default: the OS's CSPRNG).

    Returns:
        The reported items, in ``vocab`` order.
    """
    p = keep_probability(epsilon)
    draw = rand or _SYSTEM.random
    truth = set(selected)
    out = []
    for item in vocab:
        answer = item in truth
        if draw() >= p:
            answer = not answer
        if answer:
            out.append(item)
    return out


def estimate_count(reported: int, n: int, epsilon: float) -> float:
    """Unbiased estimate of how many of ``n`` people truly answered yes, given ``reported``
    perturbed yeses (may fall outside [0, n] by chance)."""
    p = keep_probability(epsilon)
    return (reported - n * (1 - p)) / (2 * p - 1)
