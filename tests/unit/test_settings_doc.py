"""docs/settings.md gives every setting the services' config files read from
the environment - the variable's name (not always the config key's), and its
default as the file has it - and the keys no variable sets, with their values.
An operator who tunes from the docs sets a variable that exists."""

from __future__ import annotations

import re
from inspect import getmembers

import pytest
from nameko.extensions import Extension

from deploy.registry import ROOT, SERVICES, config_path, service_classes

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


def required_settings(service: str) -> set[str]:
    """What the service's providers refuse to start without."""
    return {setting for cls in service_classes(service) for _, provider in getmembers(cls)
            if isinstance(provider, Extension)
            for setting in getattr(provider, "required_settings", ())}


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_names_every_secret_a_service_refuses_to_start_without(service):
    """README's Secrets says what a service needs from the environment: each
    setting it refuses to start without and that has no default."""
    secrets_section = (ROOT / "README.md").read_text().split("\n## Secrets\n", 1)[1]
    secrets_section = secrets_section.split("\n## ", 1)[0]
    defaults = dict(FROM_ENVIRONMENT.findall(config_path(service).read_text()))
    missing = {setting for setting in required_settings(service)
               if not defaults.get(setting) and f"`{setting}`" not in secrets_section}
    assert not missing


def test_a_station_silence_past_what_a_date_holds_stops_the_service_naming_it():
    """Outside audit A3: STATION_SILENT_SECONDS=100000000000 started printing,
    then every Dinas claim answered 500 (OverflowError)."""
    from services.printing.service import MOST_SILENT_SECONDS, silent_after
    from shared.settings import InvalidSetting, integer
    with pytest.raises(InvalidSetting) as refused:
        integer({"STATION_SILENT_SECONDS": "100000000000"}, "STATION_SILENT_SECONDS", 1800,
                maximum=MOST_SILENT_SECONDS)
    assert "STATION_SILENT_SECONDS" in str(refused.value)
    assert silent_after(MOST_SILENT_SECONDS).days == 30 and silent_after(0) is None
