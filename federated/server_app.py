"""The server side: a Flower ``ServerApp`` (Message API) that runs the rounds.

A run: ask every device who it is (a ``query`` message: device id and clip count), fix the
noise for this population, check the starting model centrally and on every device's local
test clips, then for each round sample devices (Poisson), send the global weights, screen the
replies, aggregate through the strategy chain (:mod:`federated.strategy`), step the server
optimizer, and append the privacy and contribution ledgers. At the end the same checks again,
a checkpoint of the improved model, ``summary.json``, ``rounds.csv`` and plots.

``flwr run .`` starts :data:`app`, which composes the Hydra config from the run config's
``overrides``; ``python -m federated.simulate`` builds the same run from its own config.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.serverapp import Grid, ServerApp
from tqdm import tqdm

from federated.accounting import Release, epsilon, local_round
from federated.config import FederatedConfig, PrivacyConfig, resolve, scored_rounds
from federated.ledger import ACCOUNTANT, Ledger
from federated.local import Setup
from federated.strategy import ServerOptimizer, build_chain, screen, update_vector

log = logging.getLogger("federated")


@dataclass
class RunSpec:
    """A federated run, fully resolved (what :mod:`federated.simulate` composes)."""

    setup: Setup
    fed: FederatedConfig
    privacy: PrivacyConfig
    out_dir: str
    central_manifest: str | None = None
    central_max_clips: int = 200
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _config(setup: Setup, **more) -> ConfigRecord:
    return ConfigRecord({"setup": setup.to_json(), **more})


def _handshake(
    grid: Grid, setup: Setup, timeout: float
) -> dict[int, tuple[str, int, dict[str, float]]]:
    """node id -> (device id, local training clips, its other counts), from every connected
    device. Under pseudo-labels the other counts say what labelling did (``labels-*``)."""
    nodes = list(grid.get_node_ids())
    msgs = [
        Message(
            RecordDict({"config": _config(setup)}), dst_node_id=n, message_type=MessageType.QUERY
        )
        for n in nodes
    ]
    out = {}
    for reply in grid.send_and_receive(msgs, timeout=timeout):
        if reply.has_error():
            log.warning(
                "node %s did not answer the handshake: %s",
                reply.metadata.src_node_id,
                reply.error.reason,
            )
            continue
        device = str(reply.content.config_records["device"]["device"])
        metrics = dict(reply.content.metric_records["metrics"])
        out[reply.metadata.src_node_id] = (device, int(metrics.pop("clips")), metrics)
    return out


def _federated_eval(
    grid: Grid,
    setup: Setup,
    arrays: ArrayRecord,
    nodes: list[int],
    thresholds: list[float],
    timeout: float,
    part: str = "test",
) -> dict[str, dict[str, float]]:
    """Per device: counts on its local ``part`` clips (the global model, federated
    evaluation): test to report, val to choose a round."""
    config = _config(setup, thresholds=thresholds, part=part)
    record = RecordDict({"arrays": arrays, "config": config})
    msgs = [Message(record, dst_node_id=n, message_type=MessageType.EVALUATE) for n in nodes]
    out = {}
    for reply in grid.send_and_receive(msgs, timeout=timeout):
        if reply.has_error():
            continue
        device = str(reply.content.config_records["device"]["device"])
        out[device] = dict(reply.content.metric_records["metrics"])
    return out


def pooled(per_device: dict[str, dict[str, float]], task: str, i: int = 0) -> dict[str, float]:
    """Pooled local-test figures over devices at threshold ``i`` (wake word) or WER."""
    if task == "kws":
        pos = sum(d.get("positives", 0) for d in per_device.values())
        neg = sum(d.get("negatives", 0) for d in per_device.values())
        rej = sum(d.get(f"rejected_{i}", 0) for d in per_device.values())
        acc = sum(d.get(f"accepted_{i}", 0) for d in per_device.values())
        return {
            "frr": rej / pos if pos else math.nan,
            "far": acc / neg if neg else math.nan,
            "positives": pos,
            "negatives": neg,
        }
    words = sum(d.get("words", 0) for d in per_device.values())
    errors = sum(d.get("word_errors", 0) for d in per_device.values())
    return {"wer": errors / words if words else math.nan, "words": words}


def improvement_ci(
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    task: str,
    i_before: int,
    i_after: int,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Pooled FRR (or WER) before minus after, with a 95% bootstrap interval over devices."""
    devices = sorted(set(before) & set(after))
    if task == "kws":
        num_b = np.array([before[d].get(f"rejected_{i_before}", 0) for d in devices], float)
        num_a = np.array([after[d].get(f"rejected_{i_after}", 0) for d in devices], float)
        den = np.array([before[d].get("positives", 0) for d in devices], float)
    else:
        num_b = np.array([before[d].get("word_errors", 0) for d in devices], float)
        num_a = np.array([after[d].get("word_errors", 0) for d in devices], float)
        den = np.array([before[d].get("words", 0) for d in devices], float)
    if den.sum() == 0:
        return {"gain": math.nan, "low": math.nan, "high": math.nan, "devices": len(devices)}
    gain = (num_b.sum() - num_a.sum()) / den.sum()
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(devices), len(devices))
        d = den[idx].sum()
        if d > 0:
            boots.append((num_b[idx].sum() - num_a[idx].sum()) / d)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"gain": float(gain), "low": float(low), "high": float(high), "devices": len(devices)}


def run_server(grid: Grid, spec: RunSpec) -> dict[str, Any]:
    """The whole federated run on ``grid``; returns (and writes) the summary."""
    from speech.checkpoint import read_checkpoint, write_checkpoint

    fed, privacy, setup = spec.fed, spec.privacy, spec.setup
    out = Path(spec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    payload = read_checkpoint(setup.checkpoint)
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    # Rounds exchange the model's (trainable) parameters, in float32: the shipped checkpoints
    # store float16 weights, and averaging in float16 would round every round.
    from federated.local import exchanged, new_model

    start = new_model(setup)
    full = {k: v.detach().clone() for k, v in start.state_dict().items()}
    arrays = ArrayRecord({k: full[k].contiguous() for k in exchanged(start, setup.trainable)})
    del start

    # federated.timeout bounds a training round (stragglers past it are left out); the
    # handshake and the evaluations wait longer: devices may still be starting up.
    slow = max(fed.timeout, 600.0)
    devices = _handshake(grid, setup, slow)
    if not devices:
        raise RuntimeError("no device answered; are the SuperNodes connected?")
    node_of = {dev: node for node, (dev, _, _) in devices.items()}
    clips = {dev: n for dev, n, _ in devices.values()}
    labelled = {dev: m for dev, _, m in devices.values() if setup.labels == "teacher"}
    population = sorted(node_of)
    nonzero = [n for n in clips.values() if n > 0]
    resolved = resolve(privacy, fed, len(population), min(nonzero) if nonzero else 1)
    setup.privacy = {
        "mode": privacy.mode,
        "local_dp": privacy.local_dp,
        "noise": resolved.local_noise,
        "max_grad_norm": privacy.local.max_grad_norm,
        "batch_size": privacy.local.batch_size,
        "grad_sample_mode": privacy.local.grad_sample_mode,
        "delta": privacy.delta,
        "max_epsilon": privacy.max_epsilon,
    }
    q = resolved.user_sample_rate
    outer, inner = build_chain(privacy, resolved.user_noise, fed.devices_per_round)
    server_opt = ServerOptimizer(fed.server, fed.server_lr, fed.betas, fed.tau)
    ledger = Ledger(out)
    task = setup.task_name
    (out / "run.json").write_text(
        json.dumps(
            {
                "setup": asdict(setup),
                "federated": asdict(fed),
                "privacy": privacy.asdict(),
                "resolved": asdict(resolved),
                "devices": len(population),
                **spec.extra,
            },
            indent=1,
            default=str,
        )
    )

    # --- before: central and on the devices ----------------------------------------------
    central_before = _central(spec, meta, arrays)
    thresholds_before = _thresholds(meta, central_before)
    nodes_all = [node_of[d] for d in population]
    local_before = _federated_eval(grid, setup, arrays, nodes_all, thresholds_before, slow)

    # --- choosing the round to return (federated.select=best) ------------------------------
    choice = None
    if fed.select == "best":
        from federated.central import guard_split
        from federated.select import RoundChoice, device_errors, noisy_mean

        phrase = meta.get("extra", {}).get("wake_phrase")
        split = guard_split(spec.central_manifest, task, phrase) if spec.central_manifest else None
        choice = RoundChoice(
            fed.select_max_central_loss, split, private=bool(resolved.select_noise)
        )
    # DP noise is drawn from the OS's entropy, never a seed (as Flower's DP wrappers do)
    select_rng = np.random.default_rng()
    select_history: list[Release] = []  # the private round choice's releases so far
    scored = set(scored_rounds(fed))
    unledgered = {"private": 0, "exact": 0}  # scorings since the last ledger rows

    def offer(rnd: int, arrays: ArrayRecord) -> dict[str, Any]:
        """Score ``arrays`` for the choice: central dev guard, then the devices' val clips
        (exactly, or privately as a noisy mean of the devices' bounded errors)."""
        try:
            c = _central(spec, meta, arrays, split=choice.split) if choice.split else {}
        except ValueError as e:  # e.g. no threshold reaches 0.5 FA/h: a collapsed round
            if rnd == 0:
                raise
            log.warning("round %d: not a candidate: %s", rnd, e)
            choice.unscorable(rnd)
            return {"kept": 0}
        threshold = None
        if task == "kws":
            threshold = float(c.get("threshold_at_target", meta["extra"]["threshold"]))
        thresholds = [threshold] if threshold is not None else []
        val = _federated_eval(grid, setup, arrays, nodes_all, thresholds, slow, part="val")
        metric = "frr" if task == "kws" else "wer"
        guard = c.get("frr_at_target" if task == "kws" else "wer")
        if choice.private:
            released = noisy_mean(device_errors(val, task), resolved.select_noise, select_rng)
            select_history.extend(resolved.select_release(1))
            unledgered["private"] += 1
            if rnd == 0:  # one standard deviation of a noisy difference, from round 0's count
                choice.margin = released.difference_std
            figure = released.mean
        else:
            unledgered["exact"] += 1
            figure = pooled(val, task, 0)[metric]
        cand = choice.offer(rnd, figure, guard, arrays.to_torch_state_dict(), threshold)
        kept = choice.best is cand
        log.info(
            "round %d: validation %s %.3f%s, central %s %s%s",
            rnd,
            metric,
            cand.val,
            " (noisy)" if choice.private else "",
            choice.split,
            "-" if guard is None else f"{guard:.3f}",
            " (best so far)" if kept else ("" if cand.eligible else " (guard: not eligible)"),
        )
        return {f"val_{metric}": cand.val, "central_guard": guard, "kept": int(kept)}

    if choice is not None:
        offer(0, arrays)
    offered = 0

    rng = random.Random(fed.seed)
    user_history: list[Release] = []
    local_history: dict[str, list[Release]] = {d: [] for d in population}
    excluded: dict[str, str] = {}
    reported: dict[str, float] = {}  # each device's own accountant, as it reports it
    counts = {
        k: 0
        for k in (
            "sampled",
            "accepted",
            "dropped",
            "error",
            "timed_out",
            "rejected",
            "no_data",
            "budget_exhausted",
            "excluded_budget",
        )
    }
    rows = []
    writer = _tensorboard(out)

    def ledger_rows(rnd: int, status: dict, contributions: dict) -> float | None:
        return _ledger_rows(
            ledger,
            rnd,
            population,
            status,
            contributions,
            clips,
            local_history,
            user_history,
            privacy,
            resolved,
            q,
            excluded,
            inner,
            outer,
            reported,
            select_history,
            unledgered,
        )

    bar = tqdm(range(1, fed.rounds + 1), desc="rounds", unit="round", disable=not spec.progress)
    stopped = ""
    for rnd in bar:
        t0 = time.time()
        # User-level budget: the round's release must fit for everyone, or the run stops.
        if privacy.user_dp and privacy.max_epsilon is not None:
            scoring = resolved.select_release(1 if rnd in scored else 0)
            nxt = epsilon(
                [*user_history, *select_history, Release(resolved.user_noise, q, 1), *scoring],
                privacy.delta,
            )
            if nxt > privacy.max_epsilon:
                stopped = (
                    f"round {rnd}: the next release would spend user-level epsilon "
                    f"{nxt:.3f} > budget {privacy.max_epsilon}"
                )
                for d in population:
                    excluded[d] = "budget"
                ledger_rows(rnd, {}, {})
                break
        # Local-DP budgets: the server mirrors each device's releases from the replies.
        if privacy.local_dp and privacy.max_epsilon is not None:
            for d in population:
                if d in excluded or not clips[d]:
                    continue
                nxt = local_round(
                    resolved.local_noise, privacy.local.batch_size, clips[d], fed.local_epochs
                )
                if epsilon([*local_history[d], nxt], privacy.delta) > privacy.max_epsilon:
                    excluded[d] = "budget"
                    counts["excluded_budget"] += 1
        # the clipping norm of this round (adaptive clipping moves it after aggregating)
        inner.clip_used = getattr(outer, "clipping_norm", None)
        eligible = [d for d in population if d not in excluded]
        sampled = [d for d in eligible if rng.random() < q]
        counts["sampled"] += len(sampled)
        status: dict[str, str] = {d: "timed_out" for d in sampled}
        contributions: dict[str, dict[str, Any]] = {}
        accepted = []
        losses = []
        if sampled and fed.secagg:
            _secagg(
                grid,
                rnd,
                sampled,
                node_of,
                setup,
                arrays,
                privacy,
                resolved,
                fed,
                clips,
                status,
                contributions,
                local_history,
                counts,
            )
            if status.get("_aggregate") is not None:
                arrays = server_opt.step(arrays, status.pop("_aggregate"))
            status.pop("_aggregate", None)
        elif sampled:
            inner.selected = [node_of[d] for d in sampled]
            msgs = list(outer.configure_train(rnd, arrays, _config(setup), grid))
            replies = list(grid.send_and_receive(msgs, timeout=fed.timeout))
            reference = {k: v.numpy() for k, v in arrays.items()}
            by_node = {n: d for d, n in node_of.items()}
            for reply in replies:
                dev = by_node.get(reply.metadata.src_node_id)
                if dev is None:
                    continue
                verdict, detail = screen(reply, reference)
                status[dev] = verdict
                if detail:
                    contributions.setdefault(dev, {})["detail"] = detail
                if not reply.has_error():
                    info = reply.content.config_records.get("device", ConfigRecord())
                    rel = list(info.get("release", []))
                    if rel:
                        local_history[dev].append(
                            Release(float(rel[0]), float(rel[1]), int(rel[2]))
                        )
                if not reply.has_error() and "metrics" in reply.content.metric_records:
                    m = reply.content.metric_records["metrics"]
                    reported[dev] = float(m.get("local-epsilon", 0.0))
                if verdict == "accepted":
                    accepted.append(reply)
                    losses.append(float(m.get("loss", math.nan)))
                    upd = update_vector(next(iter(reply.content.array_records.values())), reference)
                    contributions.setdefault(dev, {})["update"] = upd
                elif verdict == "rejected":
                    log.warning("round %d: %s's update rejected: %s", rnd, dev, detail)
                if verdict == "budget_exhausted":
                    excluded[dev] = "budget"
            for v in status.values():
                if v != "accepted":
                    counts[v if v in counts else "error"] += 1
            counts["accepted"] += len(accepted)
            if accepted:
                agg, _ = outer.aggregate_train(rnd, accepted)
                if agg is not None:
                    d_agg = update_vector(agg, reference)
                    arrays = server_opt.step(arrays, agg)
                    norm_agg = float(np.linalg.norm(d_agg))
                    for c in contributions.values():
                        if "update" not in c:
                            continue
                        u = c.pop("update")
                        n = float(np.linalg.norm(u))
                        c["update_norm"] = n
                        c["alignment"] = (
                            float(u @ d_agg / (n * norm_agg)) if n and norm_agg else 0.0
                        )
        if privacy.user_dp:
            user_history.append(Release(resolved.user_noise, q, 1))
        # scored before the ledger rows are written, so that they carry its release
        chosen = offer(rnd, arrays) if choice is not None and rnd in scored else {}
        if chosen:
            offered = rnd
        user_eps = ledger_rows(rnd, status, contributions) or 0.0
        local_eps = max(
            (epsilon(h, privacy.delta) for h in local_history.values() if h), default=0.0
        )
        row = {
            "round": rnd,
            "sampled": len(sampled),
            "accepted": len(accepted),
            "loss": float(np.mean(losses)) if losses else math.nan,
            "user_epsilon": user_eps,
            "max_local_epsilon": local_eps,
            "seconds": time.time() - t0,
        }
        if fed.evaluate_every and rnd % fed.evaluate_every == 0 and rnd < fed.rounds:
            mid = _federated_eval(grid, setup, arrays, nodes_all, thresholds_before, slow)
            row.update(
                {f"local_{k}": v for k, v in pooled(mid, task, 1 if task == "kws" else 0).items()}
            )
        row.update(chosen)
        rows.append(row)
        for k, v in row.items():
            if k != "round" and isinstance(v, (int, float)) and math.isfinite(v):
                writer.add_scalar(f"federated/{k}", v, rnd)
        bar.set_postfix(
            accepted=len(accepted), loss=f"{row['loss']:.3f}", eps=f"{max(user_eps, local_eps):.2f}"
        )
    writer.close()
    if choice is not None:
        if rows and offered != rows[-1]["round"]:  # stopped early: the last round is a candidate
            if choice.private:  # unless that would spend privacy past the budget that stopped it
                log.warning("round %d: not scored (the run stopped early)", rows[-1]["round"])
            else:
                rows[-1].update(offer(rows[-1]["round"], arrays))
        if choice.state is not None:  # round 0 always competes; None only if it was unscorable
            arrays = ArrayRecord(choice.state)
            log.info("returning round %d's model (federated.select=best)", choice.best.round)

    # --- after ------------------------------------------------------------------------------
    central_after = _central(spec, meta, arrays)
    # The improved model is stored with the 0.5 FA/h threshold recalibrated on the central
    # stream: "stored" after training means that one (the old one no longer fits its scores).
    thresholds_after = _thresholds(meta, central_after)[1:] * 2
    local_after = _federated_eval(grid, setup, arrays, nodes_all, thresholds_after, slow)
    new_meta = json.loads(json.dumps(meta, default=str))
    if task == "kws" and "threshold_at_target" in central_after:
        new_meta["extra"]["threshold"] = central_after["threshold_at_target"]
    state = {**full, **{k: torch.from_numpy(np.array(v.numpy())) for k, v in arrays.items()}}
    write_checkpoint({**payload, **new_meta, "state_dict": state}, out / "model.pt")
    selection = None
    if choice is not None:
        selection = choice.summary()
        selection["noise_multiplier"] = resolved.select_noise
        if privacy.user_dp:  # what the training rounds alone spent; user_epsilon has both
            selection["training_epsilon"] = epsilon(user_history, privacy.delta)
            selection["covered_by_epsilon"] = choice.private
    summary = _summary(
        spec,
        task,
        central_before,
        central_after,
        local_before,
        local_after,
        counts,
        [*user_history, *select_history],
        local_history,
        privacy,
        resolved,
        rows,
        stopped,
        time.time() - started,
        len(population),
        labelled,
        selection,
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "local_eval.json").write_text(json.dumps({"before": local_before, "after": local_after}))
    _write_csv(out / "rounds.csv", rows)
    _plot(out, rows, summary)
    latest = out.parent / "latest"
    if out.parent.name == "federated" or latest.is_symlink():
        try:
            if latest.is_symlink() or latest.exists():
                latest.unlink()
            latest.symlink_to(out.name)
        except OSError:
            pass
    return summary


def _secagg(
    grid,
    rnd,
    sampled,
    node_of,
    setup,
    arrays,
    privacy,
    resolved,
    fed,
    clips,
    status,
    contributions,
    local_history,
    counts,
) -> None:
    """A SecAgg+ round (federated.secagg): the server sees the sum only, so each sampled
    device's outcome is "secure"; its local-DP release is recorded as planned (a device that
    failed is still counted: the ledger errs on the safe side)."""
    from federated.secagg import secagg_round

    agg, info = secagg_round(
        grid,
        rnd,
        arrays,
        [node_of[d] for d in sampled],
        _config(setup),
        user_noise=resolved.user_noise if privacy.user_dp else 0.0,
        clipping_norm=privacy.user.clipping_norm,
        expected=fed.devices_per_round,
        max_weight=1.0 if privacy.user_dp else max(clips.values()),
        timeout=fed.timeout,
    )
    counts["accepted"] += info["received"]
    counts["error"] += info["failed"]
    counts["timed_out"] += max(0, len(sampled) - info["received"] - info["failed"])
    for d in sampled:
        status[d] = "secure"
        contributions[d] = {"detail": "secure aggregation: individual updates are not visible"}
        if privacy.local_dp and clips[d]:
            local_history[d].append(
                local_round(
                    resolved.local_noise, privacy.local.batch_size, clips[d], fed.local_epochs
                )
            )
    status["_aggregate"] = agg


def _central(
    spec: RunSpec, meta: dict[str, Any], arrays: ArrayRecord, split: str = "test"
) -> dict[str, float]:
    if not spec.central_manifest:
        return {}
    from federated.central import evaluate_central
    from federated.local import build_task, new_model

    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in arrays.items()}
    model = new_model(spec.setup, state)
    task = None
    if spec.setup.task_name == "asr":
        task = build_task(Setup(**{**asdict(spec.setup), "manifest": spec.central_manifest}))
    return evaluate_central(
        model, meta, spec.central_manifest, task=task, max_clips=spec.central_max_clips, split=split
    )


def _thresholds(meta: dict[str, Any], central: dict[str, float]) -> list[float]:
    if meta["task"] != "kws":
        return []
    stored = float(meta["extra"]["threshold"])
    return [stored, float(central.get("threshold_at_target", stored))]


def _ledger_rows(
    ledger,
    rnd,
    population,
    status,
    contributions,
    clips,
    local_history,
    user_history,
    privacy,
    resolved,
    q,
    excluded,
    inner,
    outer,
    reported,
    select_history,
    unledgered,
) -> float | None:
    """Append the round's ledger rows; returns the user-level epsilon spent so far."""
    clip_norm = getattr(inner, "clip_used", None) if privacy.user_dp else None
    # the round choice's scorings since the last rows: a private one's release (every device
    # was read), or how many exact readings of the devices' validation errors were made
    select_release = (
        {
            "noise_multiplier": resolved.select_noise,
            "sample_rate": 1.0,
            "steps": unledgered["private"],
        }
        if unledgered["private"]
        else None
    )
    exact_readings = unledgered["exact"]
    unledgered["private"] = unledgered["exact"] = 0
    user_release = (
        {
            "noise_multiplier": resolved.user_noise,
            "sample_rate": q,
            "steps": 1,
            "clipping_norm": clip_norm,
        }
        if privacy.user_dp and user_history and len(user_history) == rnd
        else None
    )
    user_eps = epsilon([*user_history, *select_history], privacy.delta) if privacy.user_dp else None
    priv, contrib = [], []
    for d in population:
        st = status.get(d)
        sampled = st is not None
        trained = st in ("accepted", "rejected", "secure")
        local_release = None
        if privacy.local_dp and trained and local_history[d]:
            r = local_history[d][-1]
            local_release = {**r.asdict(), "max_grad_norm": privacy.local.max_grad_norm}
        priv.append(
            {
                "round": rnd,
                "device": d,
                "mode": privacy.mode,
                "sampled": sampled,
                "status": st
                if sampled
                else (f"excluded: {excluded[d]}" if d in excluded else "not sampled"),
                "clips": clips[d] if trained else 0,
                "local_release": local_release,
                "local_epsilon": epsilon(local_history[d], privacy.delta)
                if privacy.local_dp
                else None,
                "device_reported_epsilon": reported.get(d) if privacy.local_dp else None,
                "user_release": user_release,
                "select_release": select_release,
                "select_exact_readings": exact_readings,
                "user_epsilon": user_eps,
                "delta": privacy.delta,
                "max_epsilon": privacy.max_epsilon,
                "accountant": ACCOUNTANT,
            }
        )
        if sampled:
            c = contributions.get(d, {})
            contrib.append(
                {
                    "round": rnd,
                    "device": d,
                    "sampled": True,
                    "accepted": None if st == "secure" else st == "accepted",
                    "reason": None if st == "accepted" else st,
                    "update_norm": c.get("update_norm"),
                    "alignment": c.get("alignment"),
                    "detail": c.get("detail"),
                }
            )
    ledger.append(priv, contrib)
    return user_eps


def _summary(
    spec,
    task,
    cb,
    ca,
    lb,
    la,
    counts,
    user_history,
    local_history,
    privacy,
    resolved,
    rows,
    stopped,
    seconds,
    n_devices,
    labelled=None,
    selection=None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "task": task,
        "privacy": privacy.mode,
        "server": spec.fed.server,
        "devices": n_devices,
        "rounds_run": len(rows),
        "seconds": round(seconds, 1),
        "counts": counts,
        "stopped": stopped or None,
        "user_noise": resolved.user_noise,
        "local_noise": resolved.local_noise,
        "user_epsilon": epsilon(user_history, privacy.delta) if privacy.user_dp else None,
        "max_local_epsilon": max(
            (epsilon(h, privacy.delta) for h in local_history.values() if h), default=0.0
        )
        if privacy.local_dp
        else None,
        "delta": privacy.delta,
        "central_before": cb,
        "central_after": ca,
    }
    if task == "kws":
        out["local_before"] = {"stored": pooled(lb, task, 0), "target": pooled(lb, task, 1)}
        out["local_after"] = {"stored": pooled(la, task, 0), "target": pooled(la, task, 1)}
        out["gain_frr_at_target"] = improvement_ci(lb, la, task, 1, 1)
        out["gain_frr_at_stored"] = improvement_ci(lb, la, task, 0, 0)
    else:
        out["local_before"] = pooled(lb, task)
        out["local_after"] = pooled(la, task)
        out["gain_wer"] = improvement_ci(lb, la, task, 0, 0)
    if labelled:
        out["labels"] = label_summary(spec.setup, labelled)
    if selection is not None:
        out["selection"] = selection
    return out


def label_summary(setup: Setup, per_device: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What the devices' pseudo-labelling did, summed over the population (from the
    handshake: each device labels its clips once). ``simulation_label_wer``: the kept teacher
    transcripts against the corpus's true text, a diagnostic only a simulation can have."""
    from federated.labels import LabelCounts

    t = LabelCounts.total(per_device.values())
    return {
        "teacher": setup.teacher,
        "min_confidence": setup.teacher_min_confidence,
        "corrections": setup.corrections,
        **asdict(t),
        "simulation_label_wer": t.label_word_errors / t.label_words if t.label_words else None,
        "simulation_dropped_label_wer": t.dropped_word_errors / t.dropped_words
        if t.dropped_words
        else None,
    }


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(out / "tb"))
    except ImportError:  # tensorboard is a dependency; keep the run going without it

        class _Null:
            def add_scalar(self, *a, **k): ...
            def close(self): ...

        return _Null()


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "round", k))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def _plot(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    if not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    selection = summary.get("selection")
    fig, ax = plt.subplots(1, 3 if selection else 2, figsize=(15 if selection else 10, 3.6))
    r = [x["round"] for x in rows]
    ax[0].plot(r, [x["loss"] for x in rows], marker=".")
    ax[0].set(xlabel="round", ylabel="mean local training loss", title="training")
    eps = [x["user_epsilon"] or x["max_local_epsilon"] for x in rows]
    ax[1].plot(r, eps, marker=".", color="C3")
    ax[1].set(
        xlabel="round",
        ylabel=f"epsilon (delta {summary['delta']:g})",
        title=f"privacy spent ({summary['privacy']})",
    )
    if selection:
        metric = "FRR at 0.5 FA/h" if summary["task"] == "kws" else "WER"
        cands = selection["candidates"]
        ax[2].plot([c["round"] for c in cands], [c["val"] for c in cands], marker=".")
        bad = [c for c in cands if not c["eligible"]]
        if bad:
            ax[2].scatter(
                [c["round"] for c in bad],
                [c["val"] for c in bad],
                marker="x",
                color="C3",
                label="central guard failed",
            )
        if selection["round"] is not None:
            best = next(c for c in cands if c["round"] == selection["round"])
            ax[2].scatter([best["round"]], [best["val"]], s=80, color="C2", label="returned")
        ax[2].legend(fontsize=8)
        ax[2].set(xlabel="round", ylabel=f"devices' validation {metric}", title="round choice")
    fig.tight_layout()
    fig.savefig(out / "rounds.png", dpi=110)
    plt.close(fig)


# --- `flwr run .` ---------------------------------------------------------------------------
app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    from federated.simulate import compose_spec

    overrides = str(context.run_config.get("overrides", "")).split()
    spec = compose_spec(overrides)
    summary = run_server(grid, spec)
    log.info(
        "federated run done: %s",
        json.dumps({k: summary[k] for k in ("devices", "rounds_run", "seconds")}),
    )


def format_summary(s: dict[str, Any], run_dir: str) -> str:
    """A few lines for people; ``summary.json`` has everything."""
    eps = []
    if s.get("user_epsilon") is not None:
        eps.append(f"user-level epsilon {s['user_epsilon']:.2f}")
    if s.get("max_local_epsilon") is not None:
        eps.append(f"largest device epsilon {s['max_local_epsilon']:.2f}")
    privacy = s["privacy"] + (f" ({', '.join(eps)} at delta {s['delta']:g})" if eps else "")
    lines = [
        f"federated {s['task']}: privacy {privacy}, {s['server']}, {s['devices']} devices, "
        f"{s['rounds_run']} rounds in {s['seconds']:.0f} s"
    ]
    cb, ca = s.get("central_before", {}), s.get("central_after", {})
    if s["task"] == "kws":
        b, a, g = s["local_before"]["target"], s["local_after"]["target"], s["gain_frr_at_target"]
        lines.append(
            f"devices' local test FRR at 0.5 FA/h: {100 * b['frr']:.1f}% -> {100 * a['frr']:.1f}% "
            f"(gain {100 * g['gain']:+.1f} points, 95% CI {100 * g['low']:+.1f} to "
            f"{100 * g['high']:+.1f}, {g['devices']} devices)"
        )
        if cb and ca:
            lines.append(
                f"central test FRR at 0.5 FA/h: {100 * cb['frr_at_target']:.1f}% -> "
                f"{100 * ca['frr_at_target']:.1f}% (threshold {cb['threshold_at_target']} -> "
                f"{ca['threshold_at_target']})"
            )
        if "fa_per_hour_at_stored" in cb and "fa_per_hour_at_stored" in ca:
            lines.append(
                f"false accepts per hour on the central {cb['stream_hours']:.1f} h stream at the "
                f"starting threshold: {cb['fa_per_hour_at_stored']:.2f} -> "
                f"{ca['fa_per_hour_at_stored']:.2f}"
            )
    else:
        b, a, g = s["local_before"], s["local_after"], s["gain_wer"]
        lines.append(
            f"devices' local test WER: {100 * b['wer']:.1f}% -> {100 * a['wer']:.1f}% (gain "
            f"{100 * g['gain']:+.1f} points, 95% CI {100 * g['low']:+.1f} to {100 * g['high']:+.1f})"
        )
        if cb and ca:
            lines.append(f"central test WER: {100 * cb['wer']:.1f}% -> {100 * ca['wer']:.1f}%")
    lab = s.get("labels")
    if lab:
        wer = lab["simulation_label_wer"]
        lines.append(
            f"pseudo-labels (whisper {lab['teacher']}, confidence >= {lab['min_confidence']}): "
            f"{lab['clips']} training clips, {lab['kept']} kept, {lab['corrected']} corrected by "
            f"reviewers; dropped {lab['low_confidence']} low-confidence, {lab['empty']} empty, "
            f"{lab['correction_dropped']} unusable corrections; label WER of the kept "
            f"(simulation only) {'-' if wer is None else f'{100 * wer:.1f}%'}"
        )
    sel = s.get("selection")
    if sel:
        cands = sel["candidates"]
        last = cands[-1]["round"] if cands else 0
        what = "FRR at 0.5 FA/h" if s["task"] == "kws" else "WER"
        vals = ", ".join(
            f"{c['round']}: {100 * c['val']:.1f}%" + ("" if c["eligible"] else " (guard)")
            for c in cands
        )
        if sel.get("private"):
            metric = "FRR" if s["task"] == "kws" else "WER"
            what = (
                f"noisy mean of the devices' validation {metric}s (noise multiplier "
                f"{sel['noise_multiplier']:g}, a later round must beat round 0 by "
                f"{100 * sel['margin']:.1f} points)"
            )
        else:
            what = f"devices' validation {what}"
        lines.append(
            f"returned round {sel['round']} of {last} (federated.select=best; {what} by round: "
            f"{vals})"
        )
        if sel.get("covered_by_epsilon") is False:
            lines.append(
                f"the round choice read the devices' validation errors exactly: epsilon "
                f"{s['user_epsilon']:.2f} covers the training rounds only "
                "(federated.select_noise > 0 makes the choice private)"
            )
        elif sel.get("covered_by_epsilon"):
            lines.append(
                f"epsilon {s['user_epsilon']:.2f} covers the training rounds "
                f"({sel['training_epsilon']:.2f} alone) and the private round choice"
            )
    c = s["counts"]
    left = ", ".join(
        f"{v} {k.replace('_', ' ')}" for k, v in c.items() if v and k not in ("sampled", "accepted")
    )
    lines.append(
        f"updates: {c['sampled']} sampled, {c['accepted']} accepted" + (f"; {left}" if left else "")
    )
    if s.get("stopped"):
        lines.append(f"stopped: {s['stopped']}")
    audit = s.get("audit") or {}
    if audit.get("membership"):
        m = audit["membership"]
        line = f"audit: membership-inference AUC {m['final']['auc']:.3f} (starting model {m['start']['auc']:.3f})"
        if audit.get("canaries"):
            cn = audit["canaries"]
            line += (
                f"; canary exposure {cn['final']['mean_exposure']:.2f} bits, unplanted controls "
                f"{cn['final']['control_exposure']:.2f} (starting model "
                f"{cn['start']['mean_exposure']:.2f}, {cn['start']['control_exposure']:.2f})"
            )
        lines.append(line)
    lines.append(
        f"run folder: {run_dir} (summary.json, rounds.png, ledgers: python -m federated.ledger DEVICE --run {run_dir})"
    )
    return "\n".join(lines)
