"""Every container of a service records its metrics under the service's own
name (``shared.metrics.service_of``), whatever container it is."""

from __future__ import annotations

import pytest

from deploy.registry import SERVICES, service_classes
from shared.metrics import method_label, service_of


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_container_of_a_service_is_labelled_with_the_service(service):
    assert {service_of(cls.name) for cls in service_classes(service)} == {service}


def test_a_method_outside_the_known_ones_is_other():
    assert [method_label(m) for m in ("GET", "OPTIONS", "AMQP", "get", "M1", "")] == [
        "GET", "OPTIONS", "AMQP", "other", "other", "other"]
