"""The same apps under Flower's deployment engine: a SuperLink and three SuperNodes as real
processes on localhost, TLS with certificates made by the test, a run submitted with `flwr run`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from federated.certs import make_certificates

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_superlink_and_three_supernodes_with_tls(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    certs = make_certificates(tmp_path / "certs", ["localhost", "127.0.0.1"])
    port = _free_port()
    home = tmp_path / "flwr-home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "tls"\n\n[superlink.tls]\naddress = "localhost:{port}"\n'
        f'root-certificates = "{certs["ca"]}"\n'
    )
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "FLWR_HOME": str(home),
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
    }
    procs = []
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        procs.append(
            subprocess.Popen(
                [
                    BIN / "flower-superlink",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--ssl-ca-certfile",
                    certs["ca"],
                    "--ssl-certfile",
                    certs["cert"],
                    "--ssl-keyfile",
                    certs["key"],
                    "--disable-runtime-dependency-installation",
                ],
                env=env,
                cwd=ROOT,
                stdout=open(logs / "superlink.log", "w"),  # noqa: SIM115 (open while it runs)
                stderr=subprocess.STDOUT,
            )
        )
        time.sleep(5)
        for i in range(3):
            procs.append(
                subprocess.Popen(
                    [
                        BIN / "flower-supernode",
                        "--superlink",
                        f"localhost:{port}",
                        "--root-certificates",
                        certs["ca"],
                        "--port",
                        str(_free_port()),
                        "--node-config",
                        f"partition-id={i} num-partitions=3",
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=open(logs / f"node{i}.log", "w"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )
        time.sleep(8)
        run_dir = tmp_path / "run"
        overrides = (
            f"data=tiny data@central=tiny out_root={out.parent} out_dir={run_dir} "
            "federated.rounds=2 federated.devices_per_round=2 federated.max_devices=3 "
            f"federated.checkpoint={ROOT / 'models/kws-hey-nova/model.pt'} progress=false"
        )
        run = subprocess.run(
            [
                BIN / "flwr",
                "run",
                ".",
                "tls",
                "--stream",
                "--run-config",
                f"overrides='{overrides}'",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        ls = subprocess.run(
            [BIN / "flwr", "ls", "tls", "--format", "json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        runs = json.loads(ls.stdout)["runs"]
        assert [r["status"] for r in runs] == ["finished:completed"], ls.stdout
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["devices"] == 3 and summary["rounds_run"] == 2
        assert summary["counts"]["accepted"] > 0
        assert (run_dir / "privacy.jsonl").read_text().count("\n") == 2 * 3
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
