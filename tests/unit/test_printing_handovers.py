"""A kelurahan officer hands a jemput-bola document over only once its whole
manifest went back to the kelurahan, a kecamatan officer a next-day request
only once its day's list went to the kecamatan (``handovers.hands_over``)."""

from __future__ import annotations

import pytest

from services.printing import handovers
from services.printing.exceptions import DocumentNotFound, NotAtCounter
from shared.events import shipment_manifest

SUKAJAYA, CURUG = "3673041010", "367304"


def waiting_at_kelurahan(job: dict, manifest: dict | None, kelurahan_code: str) -> dict:
    assert handovers.hands_over("kelurahan", job, manifest, kelurahan_code)
    return job


def manifest(**fields) -> dict:
    return {"_id": "JB-3673041010-20250605-ABCDEF", "kelurahan_code": SUKAJAYA,
            "application_ids": ["a", "b"], "printed_ids": ["a"], "items": [], "ready": False,
            **fields}


def test_a_member_printed_before_the_rest_is_not_at_the_kelurahan_yet():
    job = {"application_id": "a", "status": "printed"}
    with pytest.raises(NotAtCounter):
        waiting_at_kelurahan(job, manifest(), SUKAJAYA)
    ready = manifest(printed_ids=["a", "b"], ready=True)
    assert waiting_at_kelurahan(job, ready, SUKAJAYA) is job


def test_an_unprinted_member_or_another_kelurahans_document_is_refused():
    ready = manifest(printed_ids=["a", "b"], ready=True)
    with pytest.raises(NotAtCounter):
        waiting_at_kelurahan({"status": "leased"}, ready, SUKAJAYA)
    with pytest.raises(DocumentNotFound):
        waiting_at_kelurahan({"status": "printed"}, ready, "3673041011")
    with pytest.raises(DocumentNotFound):
        waiting_at_kelurahan({"status": "printed"}, None, SUKAJAYA)


def test_a_manifest_sent_by_pos_is_at_the_kelurahan_only_once_delivered():
    job = {"application_id": "a", "status": "printed"}
    ready = manifest(printed_ids=["a", "b"], ready=True)
    dispatched = {**ready, **handovers.PARCEL_NEWS["parcel_dispatched"]}
    with pytest.raises(NotAtCounter):
        waiting_at_kelurahan(job, dispatched, SUKAJAYA)
    delivered = {**dispatched, **handovers.PARCEL_NEWS["parcel_delivered"]}
    assert waiting_at_kelurahan(job, delivered, SUKAJAYA) is job
    # the delivery learnt first, its dispatch after (or redelivered): still delivered
    late = {**ready, **handovers.PARCEL_NEWS["parcel_delivered"],
            **handovers.PARCEL_NEWS["parcel_dispatched"]}
    assert waiting_at_kelurahan(job, late, SUKAJAYA) is job


def test_only_a_manifest_s_parcel_is_told_by_its_shipment_id():
    assert shipment_manifest("SDK-JB-3673041010-20250605-ABCDEF") == \
        "JB-3673041010-20250605-ABCDEF"
    assert shipment_manifest("SDK-0f3c9a1be2d44e6f8a7b5c4d3e2f1a0b") is None


def test_a_next_day_request_is_at_the_kecamatan_once_its_list_went_out():
    job = {"application_id": "a", "status": "printed", "next_day": True,
           "kecamatan_code": CURUG}
    waiting = {"kecamatan_code": CURUG, "expected": 2, "printed": 1,
               "items": [{"application_id": "a"}]}
    with pytest.raises(NotAtCounter):  # printed, waiting at the Dinas for the day's others
        handovers.hands_over("kecamatan", job, waiting, CURUG)
    gone = {**waiting, "printed": 2, "items": []}  # kecamatan_handover_ready emitted
    assert handovers.hands_over("kecamatan", job, gone, CURUG) is True
    with pytest.raises(NotAtCounter):
        handovers.hands_over("kecamatan", {**job, "status": "leased"}, gone, CURUG)
    with pytest.raises(DocumentNotFound):  # another kecamatan's officer
        handovers.hands_over("kecamatan", job, gone, "367302")
    with pytest.raises(DocumentNotFound):  # not on any list of a kecamatan
        handovers.hands_over("kecamatan", job, None, CURUG)
    # recorded before: the first record stands (no second event)
    assert handovers.hands_over("kecamatan", {**job, "status": "collected"}, gone, CURUG) is False
    assert handovers.OFFICES["kecamatan"].list_id({**job, "next_day": False}) is None
