"""TLS certificates for a Flower deployment: a private CA and a SuperLink server certificate.

    python -m federated.certs certs/ --host localhost --host 127.0.0.1 --host superlink.example

writes ``ca.crt`` (give it to every SuperNode and to ``flwr``), ``ca.key`` (keep it private),
``server.pem`` and ``server.key`` (the SuperLink's). The server certificate names every
``--host`` as a subject alternative name: a SuperNode checks the address it dials against them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(path, 0o600)


def make_certificates(out: str | os.PathLike, hosts: list[str], days: int = 365) -> dict[str, Path]:
    """A CA and a server certificate for ``hosts``; returns the four paths."""
    if not hosts:
        raise ValueError("name at least one --host the SuperNodes will dial")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("sottovoce federated CA"))
        .issuer_name(_name("sottovoce federated CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {
        "ca": out / "ca.crt",
        "ca_key": out / "ca.key",
        "cert": out / "server.pem",
        "key": out / "server.key",
    }
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_key(paths["ca_key"], ca_key)
    _write_key(paths["key"], key)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m federated.certs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out", help="folder for ca.crt, ca.key, server.pem, server.key")
    parser.add_argument(
        "--host", action="append", default=[], help="a name or IP SuperNodes dial (repeat)"
    )
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    try:
        paths = make_certificates(args.out, args.host or ["localhost", "127.0.0.1"], args.days)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    for name, p in paths.items():
        print(f"{name}: {p}")


if __name__ == "__main__":
    main()
