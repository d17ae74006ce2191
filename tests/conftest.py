"""Shared fixtures: one tiny corpus built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

CONF = Path(__file__).resolve().parents[1] / "conf"


def compose_config(name: str, overrides: list[str] | None = None):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name=name, overrides=overrides or [])


@pytest.fixture(scope="session")
def tiny_spec():
    return instantiate(compose_config("synth", ["data=tiny"]).data, _convert_="all")


@pytest.fixture(scope="session")
def tiny_corpus(tiny_spec, tmp_path_factory) -> tuple[Path, dict]:
    """The ``data=tiny`` corpus (about 10 s to build)."""
    from speech.data.build import build_corpus

    root = tmp_path_factory.mktemp("corpora")
    return build_corpus(tiny_spec, root, workers=2, progress=False)
