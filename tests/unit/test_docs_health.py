"""The docs' ``/health`` answers name each service as its ``/health`` does
(``shared.http.HealthCheck``: the HTTP service's ``name``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.courier.service import CourierApi
from services.intake.service import IntakeApi
from services.notification.service import NotificationApi
from services.printing.service import PrintingApi

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize(("doc", "service"), [
    ("api.md", IntakeApi), ("api.md", NotificationApi), ("station-api.md", PrintingApi),
    ("courier-api.md", CourierApi)])
def test_the_documented_health_answer_names_the_service_as_it_answers(doc, service):
    text = (DOCS / doc).read_text()
    named = set(re.findall(r'`(?:GET )?/health`[^{]*\{"status": "ok", "service": "(\w+)"\}', text))
    assert service.name in named, (doc, named)
    assert named <= {"intake_api", "printing_api", "notification_api", "courier_api"}, named
