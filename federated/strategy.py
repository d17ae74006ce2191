"""Server-side pieces of a round: the inner strategy, the DP wrappers, reply screening and the
server optimizer.

The chain a round goes through::

    screen(replies)                      malformed, failed, late or empty replies never reach...
      -> [Flower DP wrapper]             user-level DP: clip each update, noise the aggregate
           -> DeviceMean                 mean of the accepted updates
      -> ServerOptimizer                 FedAvg step or FedAdam on the (noisy) mean update

The server optimizer sits *outside* Flower's DP wrapper on purpose: Flower's ``FedAdam``
wrapped by a DP wrapper would get its noise added after the adaptive step, so its moments
would see un-noised updates. Here the wrapper releases a noisy mean and Adam only
post-processes it, which keeps the guarantee.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MessageType, RecordDict
from flwr.serverapp.strategy import (
    DifferentialPrivacyClientSideFixedClipping,
    DifferentialPrivacyServerSideAdaptiveClipping,
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
)

from federated.config import PrivacyConfig


class DeviceMean(FedAvg):
    """Sends the round to the devices the server sampled (``selected``) and averages updates.

    ``fixed_denominator``: divide the sum of updates by this expected count instead of the
    number received (user-level DP with Poisson sampling: the sensitivity of the mean must not
    depend on how many devices happened to be drawn). ``None``: weight by clips (FedAvg).
    """

    def __init__(self, *, fixed_denominator: int | None = None):
        # fraction_evaluate: unused (federated evaluation is sent by the server loop itself)
        super().__init__(fraction_train=1.0, fraction_evaluate=1.0, weighted_by_key="num-examples")
        self.fixed_denominator = fixed_denominator
        self.selected: list[int] = []
        self.current = ArrayRecord()

    def configure_train(self, server_round, arrays, config, grid) -> Iterable[Message]:
        self.current = arrays
        config["server-round"] = server_round
        record = RecordDict({"arrays": arrays, "config": config})
        return self._construct_messages(record, list(self.selected), MessageType.TRAIN)

    def aggregate_train(self, server_round, replies):
        replies = list(replies)
        if not replies:
            return None, None
        if self.fixed_denominator is None:
            return super().aggregate_train(server_round, replies)
        keys = list(self.current.keys())
        current = self.current.to_numpy_ndarrays()
        total = [np.zeros(c.shape, dtype=np.float64) for c in current]
        for reply in replies:
            arrays = next(iter(reply.content.array_records.values())).to_numpy_ndarrays()
            for t, a, c in zip(total, arrays, current, strict=True):
                t += a.astype(np.float64) - c
        mean = {
            k: Array(np.asarray(c + t / self.fixed_denominator).astype(c.dtype))
            for k, c, t in zip(keys, current, total, strict=True)
        }
        return ArrayRecord(mean), None


def build_chain(privacy: PrivacyConfig, user_noise: float, expected_devices: int):
    """(outer strategy, inner :class:`DeviceMean`) for a privacy setting."""
    if not privacy.user_dp:
        inner = DeviceMean()
        return inner, inner
    inner = DeviceMean(fixed_denominator=expected_devices)
    u = privacy.user
    if u.adaptive:
        stddev = u.clipped_count_stddev
        if stddev is None:
            stddev = expected_devices / 20
        if user_noise >= 2 * stddev:
            raise ValueError(
                f"privacy.user.adaptive: noise multiplier {user_noise:.3g} needs "
                f"clipped_count_stddev above {user_noise / 2:.3g} (set "
                "privacy.user.clipped_count_stddev) or fixed clipping"
            )
        outer = DifferentialPrivacyServerSideAdaptiveClipping(
            inner,
            noise_multiplier=user_noise,
            num_sampled_clients=expected_devices,
            initial_clipping_norm=u.clipping_norm,
            target_clipped_quantile=u.target_quantile,
            clipped_count_stddev=stddev,
        )
    elif u.clipping == "client":
        outer = DifferentialPrivacyClientSideFixedClipping(
            inner, user_noise, u.clipping_norm, expected_devices
        )
    else:
        outer = DifferentialPrivacyServerSideFixedClipping(
            inner, user_noise, u.clipping_norm, expected_devices
        )
    return outer, inner


def screen(reply: Message, reference: dict[str, np.ndarray]) -> tuple[str, str]:
    """(status, detail) of a training reply: ``accepted`` or why it is left out.

    A reply is left out when the device dropped out (``dropped``) or failed (``error``), had nothing to train on
    (``no_data``) or no budget left (``budget_exhausted``), or when its arrays do not match the
    global model's names and shapes or hold NaN/infinite values (``rejected``).
    """
    if reply.has_error():
        detail = _last_line(str(reply.error.reason))
        return ("dropped" if "dropped out" in detail else "error"), detail
    info = reply.content.config_records.get("device", ConfigRecord())
    status = str(info.get("status", "trained"))
    if status != "trained":
        return status, ""
    records = list(reply.content.array_records.values())
    if len(records) != 1:
        return "rejected", f"{len(records)} array records"
    arrays = records[0]
    if list(arrays.keys()) != list(reference.keys()):
        return "rejected", "array names differ from the global model's"
    for key, value in arrays.items():
        a = value.numpy()
        if a.shape != reference[key].shape:
            return "rejected", f"{key}: shape {a.shape}, expected {reference[key].shape}"
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            return "rejected", f"{key}: NaN or infinite values"
    metrics = list(reply.content.metric_records.values())
    if len(metrics) != 1 or "num-examples" not in metrics[0]:
        return "rejected", "no num-examples metric"
    return "accepted", ""


class ServerOptimizer:
    """The server's step on the averaged update: ``fedavg`` (x += lr * d) or ``fedadam``
    (Reddi et al. 2021: Adam moments of the mean update d, x += lr * m / (sqrt(v) + tau))."""

    def __init__(self, kind: str, lr: float, betas: tuple[float, float], tau: float):
        self.kind, self.lr, self.betas, self.tau = kind, lr, betas, tau
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, current: ArrayRecord, averaged: ArrayRecord) -> ArrayRecord:
        out = {}
        b1, b2 = self.betas
        for key, value in current.items():
            x = value.numpy()
            if x.dtype.kind != "f":
                out[key] = Array(x)
                continue
            d = averaged[key].numpy().astype(np.float64) - x
            if self.kind == "fedavg":
                new = x + self.lr * d
            else:
                m = self.m.get(key, np.zeros_like(d))
                v = self.v.get(key, np.zeros_like(d))
                m = b1 * m + (1 - b1) * d
                v = b2 * v + (1 - b2) * d * d
                self.m[key], self.v[key] = m, v
                new = x + self.lr * m / (np.sqrt(v) + self.tau)
            out[key] = Array(np.asarray(new, dtype=x.dtype))
        return ArrayRecord(out)


def update_vector(arrays: ArrayRecord, reference: dict[str, np.ndarray]) -> np.ndarray:
    """The flat update (arrays - reference) over floating-point arrays."""
    parts = [
        (v.numpy().astype(np.float64) - reference[k]).ravel()
        for k, v in arrays.items()
        if reference[k].dtype.kind == "f"
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def _last_line(reason: str) -> str:
    """The exception line of a (Ray-wrapped) ClientApp traceback."""
    lines = [ln.strip() for ln in reason.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line[-300:]
    return (lines[-1] if lines else reason)[-300:]
