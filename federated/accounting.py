"""Privacy accounting: Rényi DP of the Poisson-subsampled Gaussian mechanism.

One accountant serves both kinds of privacy in :mod:`federated`:

* **example level** (``local_dp``): a device's DP-SGD steps, each a Poisson sample of its own
  clips (rate = expected batch / clips), noise ``sigma * max_grad_norm``;
* **user level** (``user_dp``): server rounds, each a Poisson sample of the devices
  (rate = expected devices per round / devices), noise ``sigma * clipping_norm`` on the sum of
  clipped updates; and the **private round choice** (``federated.select_noise``): each
  scoring of a candidate round noises the sums of the devices' bounded validation errors,
  every device read (rate 1), composed into the same user-level epsilon.

The state is the list of :class:`Release` entries, which is exactly what the privacy ledger
stores, so anyone can recompute a ledger's epsilon from its own fields. Orders are the integers
2..256: Opacus's closed form for integer orders is exact, and an independent implementation
(``tests/federated/test_accounting.py``) checks it to numerical precision.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from opacus.accountants.analysis import rdp as _rdp

ORDERS: tuple[int, ...] = tuple(range(2, 257))
MAX_NOISE = 100.0


@dataclass(frozen=True)
class Release:
    """``steps`` compositions of one subsampled Gaussian mechanism."""

    noise_multiplier: float
    sample_rate: float
    steps: int

    def asdict(self) -> dict:
        return asdict(self)


def rdp_curve(releases: Iterable[Release]) -> list[float]:
    """Total RDP at each of :data:`ORDERS`."""
    total = [0.0] * len(ORDERS)
    for r in releases:
        if r.steps <= 0 or r.sample_rate <= 0:
            continue
        if r.noise_multiplier <= 0:
            return [math.inf] * len(ORDERS)
        part = _rdp.compute_rdp(
            q=r.sample_rate, noise_multiplier=r.noise_multiplier, steps=r.steps, orders=list(ORDERS)
        )
        total = [a + b for a, b in zip(total, part, strict=True)]
    return total


def epsilon(releases: Iterable[Release], delta: float) -> float:
    """Epsilon at ``delta`` after all ``releases`` (0 for none, inf without noise)."""
    releases = list(releases)
    if not any(r.steps > 0 and r.sample_rate > 0 for r in releases):
        return 0.0
    curve = rdp_curve(releases)
    if math.isinf(curve[0]):
        return math.inf
    with warnings.catch_warnings():  # "optimal order is the largest alpha": a tiny epsilon
        warnings.simplefilter("ignore")
        eps, _ = _rdp.get_privacy_spent(orders=list(ORDERS), rdp=curve, delta=delta)
    return float(eps)


def noise_for(
    target_epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    besides: Iterable[Release] = (),
) -> float:
    """The smallest noise multiplier (to 0.1%) that keeps ``steps`` releases, composed with
    the fixed releases ``besides`` (e.g. a private round choice's), within target.

    Raises:
        ValueError: no noise up to :data:`MAX_NOISE` reaches the target.
    """
    besides = list(besides)
    if target_epsilon <= 0:
        raise ValueError(f"target epsilon {target_epsilon} must be positive")
    if epsilon([*besides, Release(MAX_NOISE, sample_rate, steps)], delta) > target_epsilon:
        spent = epsilon(besides, delta)
        also = f" (the other releases alone spend {spent:.3g})" if besides else ""
        raise ValueError(
            f"epsilon {target_epsilon} at delta {delta} cannot be reached in {steps} releases at "
            f"sampling rate {sample_rate:.4g}, even with noise multiplier {MAX_NOISE:g}{also}: "
            "allow a larger epsilon, fewer rounds or a lower sampling rate"
        )
    lo, hi = 0.0, MAX_NOISE
    while hi - lo > 1e-3 * hi:
        mid = (lo + hi) / 2
        if (
            mid > 0
            and epsilon([*besides, Release(mid, sample_rate, steps)], delta) <= target_epsilon
        ):
            hi = mid
        else:
            lo = mid
    return hi


def local_round(noise_multiplier: float, batch_size: int, clips: int, epochs: int) -> Release:
    """One device's DP-SGD release for a round: Poisson rate batch / clips, one draw per
    expected batch, ``epochs`` passes. The device, the server's mirror and the load-time
    checks all use this, so the three can never disagree."""
    rate = min(1.0, batch_size / max(clips, 1))
    return Release(noise_multiplier, rate, epochs * max(1, round(1 / rate)))
