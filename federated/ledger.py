"""The privacy and contribution ledgers of a federated run, and the command that reads them.

Both are JSON Lines files in the run folder, appended every round, one line per device:

* ``privacy.jsonl``: round, device, whether it was sampled and what it did, its clips, the
  local-DP release of the round (noise multiplier, sampling rate, steps, clipping norm) and its
  cumulative example-level epsilon; the user-level release (noise multiplier, device sampling
  rate, clipping norm) and the cumulative user-level epsilon; the round choice's release
  (``federated.select_noise``: every device's bounded validation error read with noise, rate
  1), which the user-level epsilon includes, or the number of exact readings of the device's
  validation errors it made (not covered by any epsilon); delta and the accountant. Every
  epsilon can be recomputed from the ledger's own fields (:func:`recompute`).
* ``contribution.jsonl``: round, device, sampled, accepted (or why not), and what its update
  added: its norm and its cosine alignment with the round's aggregate update.

    python -m federated.ledger DEVICE [--run outputs/federated/latest]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from federated.accounting import Release, epsilon

ACCOUNTANT = "rdp, Poisson-subsampled Gaussian, integer orders 2-256"
TRAINED = ("accepted", "rejected", "secure")  # the statuses of a device that trained


class Ledger:
    """Appends one round's lines to ``privacy.jsonl`` and ``contribution.jsonl``."""

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.privacy = self.dir / "privacy.jsonl"
        self.contribution = self.dir / "contribution.jsonl"
        for f in (self.privacy, self.contribution):
            f.write_text("")

    def append(self, privacy: list[dict[str, Any]], contribution: list[dict[str, Any]]) -> None:
        for path, rows in ((self.privacy, privacy), (self.contribution, contribution)):
            with path.open("a") as f:
                for row in rows:
                    f.write(json.dumps(row, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())


def read(path: str | os.PathLike, device: str | None = None) -> list[dict[str, Any]]:
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                if device is None or row["device"] == device:
                    rows.append(row)
    return rows


def recompute(rows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(local, user) epsilon after each of one device's rows, from the rows' own releases."""
    local: list[Release] = []
    user: list[Release] = []
    out = []
    for row in rows:
        if row.get("local_release"):
            r = row["local_release"]
            local.append(Release(r["noise_multiplier"], r["sample_rate"], r["steps"]))
        for key in ("user_release", "select_release"):
            if row.get(key):
                r = row[key]
                user.append(Release(r["noise_multiplier"], r["sample_rate"], r["steps"]))
        out.append((epsilon(local, row["delta"]), epsilon(user, row["delta"])))
    return out


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return "inf" if x == float("inf") else f"{x:.3f}"
    return str(x)


def format_device(run: Path, device: str) -> str:
    priv = read(run / "privacy.jsonl", device)
    if not priv:
        known = sorted({r["device"] for r in read(run / "privacy.jsonl")})
        hint = f" (devices: {', '.join(known[:5])}{', ...' if len(known) > 5 else ''})"
        raise ValueError(f"{run}: no ledger entries for device {device!r}{hint}")
    contrib = {(r["round"], r["device"]): r for r in read(run / "contribution.jsonl", device)}
    delta = priv[0]["delta"]
    lines = [
        f"device {device}: run {run}",
        f"privacy mode {priv[0]['mode']}, delta {delta:g}, accountant: {ACCOUNTANT}",
        f"{'round':>5} {'sampled':>7} {'status':<18} {'clips':>5} {'local eps':>9} "
        f"{'user eps':>8} {'accepted':>8} {'alignment':>9} {'norm':>7}",
    ]
    for r in priv:
        c = contrib.get((r["round"], device), {})
        lines.append(
            f"{r['round']:>5} {('yes' if r['sampled'] else 'no'):>7} {r['status']:<18} "
            f"{_fmt(r.get('clips')):>5} {_fmt(r.get('local_epsilon')):>9} "
            f"{_fmt(r.get('user_epsilon')):>8} {_fmt(c.get('accepted')):>8} "
            f"{_fmt(c.get('alignment')):>9} {_fmt(c.get('update_norm')):>7}"
        )
    last = priv[-1]
    lines.append(
        f"spent: local epsilon {_fmt(last.get('local_epsilon'))}, user-level epsilon "
        f"{_fmt(last.get('user_epsilon'))} at delta {delta:g}"
        + (f"; budget {last['max_epsilon']:g}" if last.get("max_epsilon") else "")
    )
    # a sampled device that trained is "accepted", "rejected" (screened out) or "secure"
    # (SecAgg+, no per-device verdict): the ledger never says "trained"
    private = sum(r["select_release"]["steps"] for r in priv if r.get("select_release"))
    exact = sum(r.get("select_exact_readings") or 0 for r in priv)
    if private:
        noise = next(r["select_release"] for r in priv if r.get("select_release"))
        lines.append(
            f"the round choice read this device's validation error {private} times with noise "
            f"(multiplier {noise['noise_multiplier']:g}): included in the user-level epsilon"
        )
    if exact:
        lines.append(
            f"the round choice read this device's validation errors {exact} times exactly "
            "(federated.select_noise=0): not covered by any epsilon above"
        )
    rounds = sum(1 for r in priv if r["status"] in TRAINED)
    accepted = sum(1 for c in contrib.values() if c.get("accepted"))
    lines.append(f"trained in {rounds} rounds, {accepted} updates accepted into the global model")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m federated.ledger",
        description="One device's privacy spent and contributions, round by round.",
    )
    parser.add_argument("device", help="device id (e.g. dev0007)")
    parser.add_argument(
        "--run",
        default="outputs/federated/latest",
        help="the run folder (default: the latest run, outputs/federated/latest)",
    )
    args = parser.parse_args(argv)
    run = Path(args.run)
    if not (run / "privacy.jsonl").is_file():
        print(
            f"error: {run}: no privacy ledger here; run `python -m federated.simulate` first "
            "or pass --run with a run folder",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        print(format_device(run, args.device))
    except (ValueError, json.JSONDecodeError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
