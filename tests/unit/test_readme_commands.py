"""README's ``nameko run`` commands start every container ``deploy/registry.py``
lists for the service - the launcher runs those, and a service started by hand
from the README must be the same service (intake without its broker-channel
container leaves the front-ends' requests unanswered)."""

from __future__ import annotations

import re
from pathlib import Path

from deploy.registry import SERVICES

README = Path(__file__).parents[2] / "README.md"
RUN = re.compile(r"nameko run --config services/(\w+)/config\.yaml((?: [\w.]+:\w+)+)")


def readme_commands() -> dict[str, tuple]:
    commands = {}
    for service, classes in RUN.findall(README.read_text()):
        assert service not in commands, f"README runs {service} twice"
        commands[service] = tuple(classes.split())
    return commands


def test_the_readme_runs_each_service_with_every_container_the_registry_lists():
    assert readme_commands() == SERVICES
