"""Server-side pieces: reply screening, the fixed-denominator mean, the server optimizers, and
that a malformed update never reaches the global model."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, Metadata, MetricRecord, RecordDict

from federated.config import PrivacyConfig
from federated.strategy import DeviceMean, ServerOptimizer, build_chain, screen


def _arrays(**kw) -> ArrayRecord:
    return ArrayRecord({k: Array(np.asarray(v, dtype=np.float32)) for k, v in kw.items()})


def _reply(arrays: ArrayRecord, clips: int = 4, status: str = "trained") -> Message:
    content = RecordDict(
        {
            "arrays": arrays,
            "metrics": MetricRecord({"num-examples": clips}),
            "device": ConfigRecord({"device": "d", "status": status}),
        }
    )
    meta = Metadata(
        run_id=1,
        message_id="",
        src_node_id=7,
        dst_node_id=0,
        reply_to_message_id="",
        group_id="",
        created_at=0.0,
        ttl=60.0,
        message_type="train",
    )
    return Message(content, metadata=meta)


CURRENT = {"w": np.zeros((2, 2), np.float32), "b": np.zeros(3, np.float32)}


@pytest.mark.parametrize(
    "arrays, verdict",
    [
        (_arrays(w=np.ones((2, 2)), b=np.ones(3)), "accepted"),
        (_arrays(w=np.full((2, 2), np.nan), b=np.ones(3)), "rejected"),
        (_arrays(w=np.ones((2, 2)), b=np.array([1.0, np.inf, 0.0])), "rejected"),
        (_arrays(w=np.ones((3, 2)), b=np.ones(3)), "rejected"),
        (_arrays(w=np.ones((2, 2))), "rejected"),
    ],
)
def test_screen(arrays, verdict):
    assert screen(_reply(arrays), CURRENT)[0] == verdict


def test_screen_passes_a_device_status_through():
    assert screen(_reply(_arrays(**CURRENT), status="no_data"), CURRENT)[0] == "no_data"


def _chain_aggregate(privacy: PrivacyConfig, replies: list[Message], expected: int):
    outer, inner = build_chain(privacy, 0.0 if not privacy.user_dp else 1e-9, expected)
    inner.selected = []
    current = ArrayRecord({k: Array(v) for k, v in CURRENT.items()})
    list(outer.configure_train(1, current, ConfigRecord(), None))
    kept = [r for r in replies if screen(r, CURRENT)[0] == "accepted"]
    agg, _ = outer.aggregate_train(1, kept)
    return {k: v.numpy() for k, v in agg.items()}


def test_a_malformed_update_never_corrupts_the_global_model():
    good = [_reply(_arrays(w=np.full((2, 2), x), b=np.full(3, x))) for x in (1.0, 3.0)]
    bad = [
        _reply(_arrays(w=np.full((2, 2), np.nan), b=np.ones(3))),
        _reply(_arrays(w=np.ones((5,)), b=np.ones(3))),
    ]
    for privacy in (PrivacyConfig(mode="none"), PrivacyConfig(user={"clipping_norm": 100.0})):
        with_bad = _chain_aggregate(privacy, good + bad, expected=2)
        clean = _chain_aggregate(privacy, good, expected=2)
        for k in CURRENT:
            assert np.all(np.isfinite(with_bad[k]))
            np.testing.assert_allclose(with_bad[k], clean[k], atol=1e-6)
        np.testing.assert_allclose(clean["w"], 2.0, atol=1e-6)  # the mean of 1 and 3


def test_user_dp_divides_by_the_expected_count_and_clips():
    """Poisson sampling: the sum of updates over the *expected* count, each clipped to C."""
    replies = [_reply(_arrays(w=np.full((2, 2), 3.0), b=np.zeros(3)))]  # norm 6
    agg = _chain_aggregate(PrivacyConfig(user={"clipping_norm": 1.0}), replies, expected=4)
    assert np.linalg.norm(agg["w"]) == pytest.approx(1.0 / 4, rel=1e-4)


def test_device_mean_weights_by_clips_without_user_dp():
    inner = DeviceMean()
    current = ArrayRecord({k: Array(v) for k, v in CURRENT.items()})
    list(inner.configure_train(1, current, ConfigRecord(), None))
    replies = [
        _reply(_arrays(w=np.full((2, 2), 1.0), b=np.zeros(3)), clips=1),
        _reply(_arrays(w=np.full((2, 2), 4.0), b=np.zeros(3)), clips=2),
    ]
    agg, _ = inner.aggregate_train(1, replies)
    np.testing.assert_allclose(agg["w"].numpy(), 3.0)


def test_server_optimizers():
    current = _arrays(w=np.zeros(4))
    target = _arrays(w=np.array([1.0, -1.0, 2.0, 0.0]))
    avg = ServerOptimizer("fedavg", 1.0, (0.9, 0.99), 1e-3).step(current, target)
    np.testing.assert_allclose(avg["w"].numpy(), target["w"].numpy())
    adam = ServerOptimizer("fedadam", 0.1, (0.9, 0.99), 1e-3)
    first = adam.step(current, target)["w"].numpy()
    # Adam's first step moves every coordinate by about lr * sign(d) (scaled by its moments)
    assert np.all(np.sign(first) == np.sign(target["w"].numpy()))
    assert np.abs(first[:3]).max() < 0.1 * (0.1 / np.sqrt(0.01)) + 1e-6 and first[3] == 0
