"""The device side: a Flower ``ClientApp`` (Message API).

One node is one device of the population (:mod:`federated.data`): node config
``partition-id`` picks it. Three handlers:

* ``query``: the device says who it is and how many local training clips it holds (the
  server needs the count for local-DP sampling rates; it never sees a clip); under
  pseudo-labels (``federated.labels=teacher``) it labels them first and reports counts of
  what labelling did, never a transcript;
* ``train``: the global weights, trained for a round on the device's own clips through the
  project's training core (Opacus-wrapped under local DP); the device keeps its accountant
  state in ``context.state`` across rounds and refuses a round that would pass its budget;
* ``evaluate``: counts on the device's local test clips (or its validation clips, when the
  server chooses the best round) at the thresholds the server sends.

Nothing happens at import time. Faults (drop-outs, stragglers, corrupt updates) are injected
here when the run asks for them, so that the server's handling of each is exercised for real.
"""

from __future__ import annotations

import logging
import math
import random
import time

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.clientapp.mod import fixedclipping_mod

from federated.accounting import Release
from federated.data import population
from federated.local import Setup, evaluate_local, exchanged, local_clips, new_model, train_round
from federated.secagg import LEGACY_CONFIG, legacy_inputs, legacy_reply, secagg_mod

log = logging.getLogger(__name__)
KEY_CLIPPING_NORM = "clipping_norm"  # flwr.supercore.differential_privacy.KEY_CLIPPING_NORM
STATE_KEY = "sottovoce-local-dp"


def user_clipping_mod(msg: Message, ctx: Context, call_next):
    """Flower's ``fixedclipping_mod`` when the server asks for client-side clipping (its
    wrapper puts the clipping norm in the round's config), a pass-through otherwise."""
    if LEGACY_CONFIG in msg.content.config_records:  # a SecAgg+ round: secagg_mod clips
        return call_next(msg, ctx)
    config = next(iter(msg.content.config_records.values()), ConfigRecord())
    if KEY_CLIPPING_NORM in config:
        return fixedclipping_mod(msg, ctx, call_next)
    return call_next(msg, ctx)


app = ClientApp()


def _setup(msg: Message) -> tuple[Setup, ConfigRecord]:
    config = next(iter(msg.content.config_records.values()))
    return Setup.from_json(str(config["setup"])), config


def _device(ctx: Context, setup: Setup) -> str:
    pid = int(ctx.node_config.get("partition-id", 0))
    devices = population(
        setup.manifest,
        setup.task_name,
        max_devices=setup.max_devices,
        empty_devices=setup.empty_devices,
    )
    if pid >= len(devices):
        raise RuntimeError(f"partition-id {pid}: the population has {len(devices)} devices")
    return devices[pid]


def _history(ctx: Context) -> list[Release]:
    rec = ctx.state.config_records.get(STATE_KEY)
    if rec is None:
        return []
    return [
        Release(float(z), float(q), int(s))
        for z, q, s in zip(rec["noise"], rec["rate"], rec["steps"], strict=True)
    ]


def _remember(ctx: Context, history: list[Release]) -> None:
    ctx.state.config_records[STATE_KEY] = ConfigRecord(
        {
            "noise": [r.noise_multiplier for r in history],
            "rate": [r.sample_rate for r in history],
            "steps": [r.steps for r in history],
        }
    )


@app.query()
def query(msg: Message, ctx: Context) -> Message:
    setup, _ = _setup(msg)
    device = _device(ctx, setup)
    # Under pseudo-labels the device labels its clips here, once (later rounds read its
    # cache), and counts what it will train on: local-DP sampling rates depend on it.
    clips, labelled = local_clips(setup, device, "train")
    metrics = {"clips": len(clips), **(labelled.as_metrics() if labelled else {})}
    content = RecordDict(
        {
            "metrics": MetricRecord(metrics),
            "device": ConfigRecord({"device": device}),
        }
    )
    return Message(content=content, reply_to=msg)


@app.train(mods=[secagg_mod, user_clipping_mod])
def train(msg: Message, ctx: Context) -> Message:
    legacy = LEGACY_CONFIG in msg.content.config_records  # a SecAgg+ round
    if legacy:
        config, weights = legacy_inputs(msg)
        setup = Setup.from_json(str(config["setup"]))
        keys = exchanged(new_model(setup), setup.trainable)
        state = {k: torch.from_numpy(w.copy()) for k, w in zip(keys, weights, strict=True)}
    else:
        setup, config = _setup(msg)
        arrays = next(iter(msg.content.array_records.values()))
        state = arrays.to_torch_state_dict()
    device = _device(ctx, setup)
    rnd = int(config.get("server-round", 0))
    rng = random.Random(f"{setup.seed}/{rnd}/{device}")
    faults = setup.faults
    if rng.random() < float(faults.get("dropout", 0)):
        raise RuntimeError(f"{device} dropped out (injected fault)")
    if rng.random() < float(faults.get("straggle", 0)):
        time.sleep(float(faults.get("straggle_seconds", 5.0)))
    history = _history(ctx)
    result = train_round(setup, device, state, history, round_seed=rng.randrange(2**31))
    if result.release is not None:
        history.append(result.release)
        _remember(ctx, history)
    weights = result.state if result.state is not None else state  # nothing learnt: no change
    if result.state is not None and rng.random() < float(faults.get("corrupt", 0)):
        weights = _corrupt(weights, rng)
    release = result.release
    info = {
        "device": device,
        "status": result.status,
        "release": [release.noise_multiplier, release.sample_rate, float(release.steps)]
        if release
        else [],
    }
    if legacy:
        # User-level DP weighs every device alike; otherwise by clips (0: adds nothing).
        user_dp = setup.privacy.get("mode") in ("user_dp", "both")
        weight = (1 if result.clips else 0) if user_dp else result.clips
        return legacy_reply(msg, [v.numpy() for v in weights.values()], weight, info)
    metrics = {
        "num-examples": result.clips,
        "loss": 0.0 if math.isnan(result.loss) else result.loss,
        "steps": result.steps,
        "seconds": result.seconds,
        "local-epsilon": result.local_epsilon,
    }
    content = RecordDict(
        {
            "arrays": ArrayRecord(weights),
            "metrics": MetricRecord(metrics),
            "device": ConfigRecord(info),
        }
    )
    return Message(content=content, reply_to=msg)


def _corrupt(weights: dict[str, torch.Tensor], rng: random.Random) -> dict[str, torch.Tensor]:
    """A malformed update: NaN/inf values, or one array of the wrong shape."""
    out = {k: v.clone() for k, v in weights.items()}
    key = next(k for k, v in out.items() if v.is_floating_point() and v.numel() > 1)
    kind = rng.choice(["nan", "inf", "shape"])
    if kind == "shape":
        out[key] = torch.zeros(out[key].numel() + 1)
    else:
        out[key].view(-1)[0] = float("nan") if kind == "nan" else float("inf")
    return out


@app.evaluate()
def evaluate(msg: Message, ctx: Context) -> Message:
    setup, config = _setup(msg)
    device = _device(ctx, setup)
    arrays = next(iter(msg.content.array_records.values()))
    thresholds = [float(t) for t in config.get("thresholds", [])]
    part = str(config.get("part", "test"))
    counts = evaluate_local(setup, device, arrays.to_torch_state_dict(), thresholds, part)
    content = RecordDict(
        {
            "metrics": MetricRecord({k: float(v) for k, v in counts.items()}),
            "device": ConfigRecord({"device": device}),
        }
    )
    return Message(content=content, reply_to=msg)
