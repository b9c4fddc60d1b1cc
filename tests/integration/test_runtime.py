"""The service process' runtime (shared/runtime.py), in a started container."""

from __future__ import annotations

import gc

import pytest

from services.intake.service import IntakeApi
from tests.helpers import service_config


@pytest.mark.parametrize("setting, frozen", [("true", True), (None, False)])
def test_a_started_container_freezes_start_ups_objects_only_when_configured(
        backing, container_factory, setting, frozen):
    """``GC_FREEZE_AT_START`` (shared/runtime.py; every service's config.yaml
    sets it): once started, the collector's full passes skip start-up's objects."""
    extra = {} if setting is None else {"GC_FREEZE_AT_START": setting}
    gc.unfreeze()
    try:
        container_factory(IntakeApi, service_config(backing, "intake_runtime", **extra)).start()
        assert (gc.get_freeze_count() > 10_000) is frozen
    finally:
        gc.unfreeze()  # the test process' heap is not a service's
