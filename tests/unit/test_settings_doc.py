"""docs/settings.md gives every setting the services' config files read from
the environment - the variable's name (not always the config key's), and its
default as the file has it - and the keys no variable sets, with their values.
An operator who tunes from the docs sets a variable that exists."""

from __future__ import annotations

import re

import pytest

from deploy.registry import ROOT, SERVICES, config_path

SETTINGS = ROOT / "docs" / "settings.md"
FROM_ENVIRONMENT = re.compile(r"\$\{([A-Z0-9_]+):([^}]*)\}")
LITERAL = re.compile(r"^([A-Z0-9_]+): (\d+)$", re.M)
ROW = re.compile(r"^\| `([A-Za-z0-9_]+)` \| ([^|]*) \| (\*none\*|`[^`]*`) \|", re.M)


def table(section: str) -> list[tuple[str, str, str]]:
    """(name, second column, value) of each row under ``## <section>``."""
    text = SETTINGS.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [(name, where, "" if value == "*none*" else value.strip("`"))
            for name, where, value in ROW.findall(text)]


def documented(section: str) -> dict[str, str]:
    rows = table(section)
    assert len({name for name, _, _ in rows}) == len(rows), f"a variable twice in {section}"
    return {name: value for name, _, value in rows}


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_of_a_config_file_is_documented_with_its_default(service):
    configured = dict(FROM_ENVIRONMENT.findall(config_path(service).read_text()))
    common, own = documented("Every service"), documented(service)
    assert not common.keys() & own.keys()
    assert {**common, **own} == configured


@pytest.mark.parametrize("service", SERVICES)
def test_every_key_no_variable_sets_is_documented_with_its_value(service):
    fixed = {(name, value) for name, where, value in table("Not from the environment")
             if f"{service}'s config.yaml" in where}
    assert fixed == set(LITERAL.findall(config_path(service).read_text()))
