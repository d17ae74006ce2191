"""Secure aggregation (SecAgg+, Bell et al. 2020) for a round: the server learns only the sum.

Flower 1.41 offers SecAgg+ as a workflow of its legacy server API (``SecAggPlusWorkflow`` with a
``LegacyContext``) and a client mod (``secaggplus_mod``) that speaks the legacy message layout;
its Message-API strategies have no SecAgg+ option. So a SecAgg+ round here runs that workflow
once, with a small legacy strategy that sends the round to the devices the server loop sampled
and hands back the aggregate; the loop then applies the server optimizer as in any round.

With user-level DP, the devices clip their own updates (Flower's ``fixedclipping_mod``, inside
the SecAgg+ mod so that clipping comes before masking) and Flower's legacy
``DifferentialPrivacyClientSideFixedClipping`` wrapper adds the noise to the secure aggregate.
Each device then reports a weight of 1, and the mean over the devices that answered is rescaled
to the fixed denominator (the expected count), as in the plain path. Per-device contributions
cannot be measured: that is the point of secure aggregation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.common import (
    Code,
    FitIns,
    FitRes,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS
from flwr.compat.common.recorddict_compat import fitres_to_recorddict, recorddict_to_fitins
from flwr.server import ServerConfig
from flwr.server.compat import LegacyContext
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.strategy import DifferentialPrivacyClientSideFixedClipping, Strategy
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key

LEGACY_CONFIG = "fitins.config"


class _SampledDevices(Strategy):
    """Legacy strategy: the loop's sampled nodes, the aggregate as SecAgg+ reconstructs it."""

    def __init__(self, nodes, grid, config: dict[str, Any], current, expected: int | None):
        self.nodes, self.grid, self.config = nodes, grid, config
        self.current, self.expected = current, expected
        self.received = self.failed = 0

    def initialize_parameters(self, client_manager):
        return None

    def configure_fit(self, server_round, parameters, client_manager):
        ins = FitIns(parameters, dict(self.config))
        run_id = self.grid.run.run_id
        return [(GridClientProxy(n, self.grid, run_id), ins) for n in self.nodes]

    def aggregate_fit(self, server_round, results, failures):
        self.received, self.failed = len(results), len(failures)
        if not results:
            return None, {}
        mean = parameters_to_ndarrays(results[0][1].parameters)  # every result holds the sum
        if self.expected:  # user-level DP: the mean over the expected count
            k = len(results)
            mean = [
                c + (m - c) * (k / self.expected) for m, c in zip(mean, self.current, strict=True)
            ]
        return ndarrays_to_parameters(mean), {}

    def configure_evaluate(self, server_round, parameters, client_manager):
        return []

    def aggregate_evaluate(self, server_round, results, failures):
        return None, {}

    def evaluate(self, server_round, parameters):
        return None


def secagg_round(
    grid,
    server_round: int,
    arrays: ArrayRecord,
    nodes: list[int],
    config: ConfigRecord,
    *,
    user_noise: float = 0.0,
    clipping_norm: float = 0.0,
    expected: int | None = None,
    max_weight: float = 1.0,
    timeout: float | None = None,
) -> tuple[ArrayRecord | None, dict[str, int]]:
    """One SecAgg+ round over ``nodes``: (the new mean weights or None, counts).

    ``max_weight``: the largest weight a device reports (its clips, or 1 under user-level DP).
    SecAgg+ scales each vector by weight / max_weight before quantizing it, so a loose bound
    costs precision (Flower's default of 1000 against ~40 clips gave errors near 1e-3).
    """
    keys = list(arrays.keys())
    current = [v.numpy() for v in arrays.values()]
    inner = _SampledDevices(
        nodes,
        grid,
        {**dict(config), "server-round": server_round},
        current,
        expected if user_noise > 0 else None,
    )
    strategy: Strategy = inner
    if user_noise > 0:
        strategy = DifferentialPrivacyClientSideFixedClipping(
            inner, user_noise, clipping_norm, expected
        )
    ctx = LegacyContext(
        context=Context(grid.run.run_id, 0, {}, RecordDict(), {}),
        config=ServerConfig(num_rounds=1),
        strategy=strategy,
    )
    ctx.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({Key.CURRENT_ROUND: server_round})
    ctx.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord(
        [np.asarray(v) for v in current]  # the legacy layout: a list, in the model's order
    )
    n = len(nodes)
    workflow = SecAggPlusWorkflow(
        num_shares=max(3, n) if n >= 3 else 1.0,
        reconstruction_threshold=max(2, (2 * n) // 3) if n >= 3 else 1.0,
        max_weight=max(1.0, float(max_weight)),
        timeout=timeout,
    )
    before = ctx.state.array_records[MAIN_PARAMS_RECORD]
    workflow(grid, ctx)
    after = ctx.state.array_records[MAIN_PARAMS_RECORD]
    counts = {"received": inner.received, "failed": inner.failed}
    if after is before or inner.received == 0:
        return None, counts
    values = after.to_numpy_ndarrays()
    return ArrayRecord(
        {
            k: Array(np.asarray(v, dtype=c.dtype))
            for k, v, c in zip(keys, values, current, strict=True)
        }
    ), counts


# --- device side ----------------------------------------------------------------------------
def is_secagg(msg: Message) -> bool:
    return RECORD_KEY_CONFIGS in msg.content.config_records


def secagg_mod(msg: Message, ctx: Context, call_next):
    """Flower's SecAgg+ mod (and, when the server asks for it, its client-side clipping) for
    SecAgg+ rounds; other messages pass."""
    if not is_secagg(msg):
        return call_next(msg, ctx)
    from flwr.client.mod import fixedclipping_mod, secaggplus_mod

    def inner(m: Message, c: Context) -> Message:
        config = m.content.config_records.get(LEGACY_CONFIG, ConfigRecord())
        if "clipping_norm" in config:
            return fixedclipping_mod(m, c, call_next)
        return call_next(m, c)

    return secaggplus_mod(msg, ctx, inner)


def legacy_inputs(msg: Message) -> tuple[dict[str, Any], list[np.ndarray]]:
    """(config, weights in the model's order) of a SecAgg+ training message."""
    ins = recorddict_to_fitins(msg.content, keep_input=True)
    return dict(ins.config), parameters_to_ndarrays(ins.parameters)


def legacy_reply(msg: Message, weights: list[np.ndarray], weight: int, info: dict) -> Message:
    res = FitRes(Status(Code.OK, ""), ndarrays_to_parameters(weights), int(weight), {})
    content = fitres_to_recorddict(res, keep_input=True)
    content["device"] = ConfigRecord(info)
    return Message(content, reply_to=msg)
