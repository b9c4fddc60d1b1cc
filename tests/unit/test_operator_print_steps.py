"""What a print step shows: its job, the station and reason of a failure or
hold, the operator of a release or reprint - to operators only (outside
review: the steps were stored empty, a release read as the first queueing)."""

from __future__ import annotations

import uuid

import pytest

from services.intake.domain import public_detail
from services.intake.downstream import recorded_as, step_from_event
from shared.events import build_event

JOB = uuid.uuid4().hex
REF = {"application_id": uuid.uuid4().hex, "tracking_code": "SDK7KQ2M9XA",
       "document_type": "ktp_el", "print_job_id": JOB}
CONTACT = {"phone": "+6281234567890", "email": None, "language": "id"}


@pytest.mark.parametrize(("event_type", "payload", "status", "shown"), [
    ("print_job_queued", {}, "print_queued", {}),
    ("print_job_failed", {"station_id": "st-serang-1", "reason": "data_error", "requeued": False},
     "print_held", {"station_id": "st-serang-1", "print_reason": "data_error"}),
    ("print_job_failed", {"station_id": "st-serang-1", "reason": "printer_fault",
                          "requeued": True},
     "print_failed", {"station_id": "st-serang-1", "print_reason": "printer_fault"}),
    ("print_job_held", {"reason": "holder_deceased"}, "print_held",
     {"print_reason": "holder_deceased"}),
    ("print_job_released", {"released_by": "operator-7"}, "print_queued", {"by": "operator-7"}),
    ("print_job_requeued", {"requeued_by": "operator-9", "delivery_method": "pickup"},
     "print_queued", {"by": "operator-9"}),
    ("document_printed", {"station_id": "st-serang-1", "delivery_method": "pickup"}, "printed",
     {"station_id": "st-serang-1"}),
    ("print_job_cancelled", {"reason": "data_error", "full_name": "Siti Aminah",
                             "contact": CONTACT}, "print_cancelled",
     {"print_reason": "data_error"}),
])
def test_a_print_step_shows_its_job_and_who_acted_why_to_operators_only(
        event_type, payload, status, shown):
    event = build_event(event_type, **REF, **payload)
    step = step_from_event(recorded_as(event_type, event), event)
    assert step["status"] == status
    assert step["detail"] == {"print_job_id": JOB, **shown}
    assert public_detail(step["detail"], "id") == {}  # never the citizen's


def test_a_parcels_reason_is_still_the_citizens():
    parcel = {name: value for name, value in REF.items() if name != "print_job_id"}
    event = build_event("parcel_delivery_failed", **parcel, shipment_id=f"SDK-{JOB}",
                        barcode="P2611290001ID", reason="alamat tidak ditemukan")
    step = step_from_event("parcel_delivery_failed", event)
    assert public_detail(step["detail"], "id") == {"barcode": "P2611290001ID",
                                                   "reason": "alamat tidak ditemukan"}
