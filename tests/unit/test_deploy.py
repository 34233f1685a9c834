"""The example deployment is well-formed and speaks only settings onevoice has."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import yaml

from onevoice.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_compose_file_runs_the_servers_two_apis_and_two_workers() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "nats", "api", "worker", "lb"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"][:2] == ["onevoice", "worker"]
    assert "-js" in services["nats"]["command"]


def test_every_setting_in_the_compose_file_exists() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    known = {f"ONEVOICE_{f.name.upper()}" for f in fields(Settings)}
    for name in ("api", "worker"):
        environment = compose["services"][name]["environment"]
        assert set(environment) <= known, set(environment) - known
