"""The accountant against an independent closed form, and its inverse (noise for a target)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federated.accounting import ORDERS, Release, epsilon, noise_for


def _logsumexp(xs: list[float]) -> float:
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def independent_epsilon(releases: list[tuple[float, float, int]], delta: float) -> float:
    """Rényi DP of the Poisson-subsampled Gaussian written out from the paper (Mironov, Talwar
    and Zhang 2019, integer orders: A_a = sum_k C(a,k) (1-q)^(a-k) q^k exp((k^2-k)/(2 s^2)),
    RDP = log A_a / (a-1) per step) and converted to (epsilon, delta) as in Balle et al. 2020:
    eps = RDP - (log delta + log a) / (a-1) + log((a-1)/a). Only ``math``: no Opacus code."""
    best = math.inf
    for a in ORDERS:
        rdp = 0.0
        for sigma, q, steps in releases:
            if q >= 1.0:
                log_a = (a * a - a) / (2 * sigma**2)
            else:
                terms = [
                    math.lgamma(a + 1)
                    - math.lgamma(k + 1)
                    - math.lgamma(a - k + 1)
                    + (a - k) * math.log1p(-q)
                    + (k * math.log(q) if k else 0.0)
                    + (k * k - k) / (2 * sigma**2)
                    for k in range(a + 1)
                ]
                log_a = _logsumexp(terms)
            rdp += steps * log_a / (a - 1)
        eps = rdp - (math.log(delta) + math.log(a)) / (a - 1) + math.log((a - 1) / a)
        best = min(best, eps)
    return best


@settings(max_examples=25, deadline=None)
@given(
    sigma=st.floats(0.6, 8.0),
    q=st.floats(0.01, 1.0),
    steps=st.integers(1, 200),
    delta=st.sampled_from([1e-5, 1e-3, 5e-3]),
)
def test_epsilon_matches_an_independent_closed_form(sigma, q, steps, delta):
    ours = epsilon([Release(sigma, q, steps)], delta)
    theirs = independent_epsilon([(sigma, q, steps)], delta)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)


def test_releases_compose_and_edge_cases():
    a, b = Release(1.1, 0.1, 30), Release(2.0, 0.25, 8)
    assert epsilon([a, b], 1e-3) == pytest.approx(
        independent_epsilon([(1.1, 0.1, 30), (2.0, 0.25, 8)], 1e-3), rel=1e-6
    )
    assert epsilon([a, b], 1e-3) > max(epsilon([a], 1e-3), epsilon([b], 1e-3))
    assert epsilon([], 1e-3) == 0.0
    assert epsilon([Release(0.0, 0.1, 1)], 1e-3) == math.inf


def test_noise_for_a_target_and_an_unreachable_target():
    z = noise_for(3.0, 1e-3, 0.1, 20)
    assert epsilon([Release(z, 0.1, 20)], 1e-3) <= 3.0
    assert epsilon([Release(z * 0.99, 0.1, 20)], 1e-3) > 3.0 - 0.05
    with pytest.raises(ValueError, match="cannot be reached"):
        noise_for(1e-3, 1e-5, 1.0, 1000)
