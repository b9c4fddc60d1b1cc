"""HTTP body and query schemas of the courier API (boundary only: no rules)."""

import datetime

from marshmallow import (EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate,
                         validates)

from shared.clock import as_utc, utcnow
from shared.errors import Msg
from shared.fields import POSTAL_CODE, RT_RW, IsoDate, PrintedText, RegionCode
from shared.paging import Cursor, PageLimit, PlainNumber

from .domain import AHEAD_TOLERANCE, POS_STATUSES, RETURN_REASONS, STATUSES
from .exceptions import dated_ahead
from .jemput_bola import manifest_status, not_printed, pos_status
from .posting import pos_phone
from .signatures import TOLERANCE_SECONDS


class PosWebhookSchema(Schema):
    """One tracking event as Pos posts it (docs/courier-api.md)."""
    class Meta:
        unknown = EXCLUDE  # Pos may add fields

    eventId = fields.String(required=True, validate=validate.Length(min=1, max=100))
    barcode = fields.String(required=True, validate=validate.Length(min=1, max=40))
    # a status outside the table would be stored as nothing: 400 naming it instead
    status = fields.String(required=True, validate=validate.OneOf(tuple(POS_STATUSES)))
    at = fields.AwareDateTime(required=True, format="iso")
    location = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default="", allow_none=True)

    @validates("at")
    def _an_instant_not_ahead(self, value, **kwargs):
        # a time with no instant in UTC (year 1 at +07:00) cannot be kept
        # (``domain.history_key``): 400 like any other bad field, not a 500
        # Pos would send again and again
        try:
            as_utc(value)
        except OverflowError:
            raise ValidationError(Msg(
                "Waktu event di luar rentang yang dapat ditulis dalam UTC.",
                "Event time outside the range that can be written in UTC.")) from None
        # with the other fields' errors (domain.timely checks it again in the store)
        if value > utcnow() + AHEAD_TOLERANCE:
            raise ValidationError(dated_ahead(TOLERANCE_SECONDS))


SHIPMENT_DAYS = validate.Range(min=datetime.date(2000, 1, 1), max=datetime.date(2099, 12, 31))


class ShipmentQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    # ISO dates (WIB): shipments created on or after ``from``, before the day
    # after ``to``; within the years a shipment can have (9999-12-31 has no
    # day after it, 0001-01-01's WIB midnight no UTC time)
    from_ = IsoDate(data_key="from", load_default=None, validate=SHIPMENT_DAYS)
    to = IsoDate(load_default=None, validate=SHIPMENT_DAYS)
    limit = PageLimit(100, 500)
    cursor = Cursor()  # next_cursor of the page before (shared.paging)


class StuckQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    days = PlainNumber(load_default=3, validate=validate.Range(min=0, max=365))
    limit = PageLimit(100, 500)
    cursor = Cursor()  # next_cursor of the page before (shared.paging)

    @post_load
    def whole_days(self, data, **kwargs):
        """``days=3`` is echoed as 3, not 3.0; ``days=0.5`` (12 hours) stays."""
        if float(data["days"]).is_integer():
            data["days"] = int(data["days"])
        return data


class PosPhone(fields.String):
    """A number Pos can call, landline or mobile (``0254123456``,
    ``+62254123456``) -> E.164, as every label carries it (``pos_phone``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        phone = pos_phone(super()._deserialize(value, attr, data, **kwargs))
        if phone is None:
            raise ValidationError(Msg("Nomor telepon tidak valid (contoh: 0254123456).",
                                      "Invalid phone number (example: 0254123456)."))
        return phone


class KelurahanOfficeSchema(Schema):
    """Where Pos takes a jemput-bola manifest: the kelurahan office."""
    class Meta:
        unknown = RAISE

    # on the Pos label, as every address
    name = PrintedText(load_default=None, min=3, max=120)
    street = PrintedText(required=True, min=3, max=200)
    rt = fields.String(load_default=None, validate=RT_RW)
    rw = fields.String(load_default=None, validate=RT_RW)
    postal_code = fields.String(required=True, validate=POSTAL_CODE)
    phone = PosPhone(load_default=None)


class AddressCorrectionSchema(Schema):
    """An operator's correction of a held shipment's address (what it lacked)."""
    class Meta:
        unknown = RAISE

    # dotted or bare, as intake's bodies; courier's own region list answers
    # an unlisted one (``AddressIncomplete``)
    kelurahan_code = RegionCode(10, listed=False)
    postal_code = fields.String(validate=POSTAL_CODE)


class ReturnedAtDinasSchema(Schema):
    """An operator's record of a parcel of Pos' back at the Dinas
    (``domain.back_at_dinas``)."""
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.OneOf(RETURN_REASONS), metadata={
        "description": "`brought_back_by_pos`: Pos brought the parcel back to the Dinas without "
                       "saying RETURNED; `never_taken_by_pos`: Pos accepted the order, its "
                       "courier never came for the parcel"})


def collected_view(application: dict, shipment: dict) -> dict:
    """An application the shipment carries, with ``collected`` {how, at} once
    its document is in the citizen's hands."""
    note = (shipment.get("collected") or {}).get(application["application_id"])
    if note is None:
        return application
    return {**application, "collected": {"how": note["how"], "at": note["at"].isoformat()}}


def shipment_view(shipment: dict, with_history: bool = False) -> dict:
    """What operators see: no phone, no street (those stay in the posting).
    A held shipment has no posting yet: ``hold`` says why. A shipment whose
    personal data is gone (``retention``) says since when; its history
    entries have no ``location`` or ``note`` (null)."""
    receiver = (shipment.get("posting") or {}).get("receiver", {})
    view = {"shipment_id": shipment["_id"], "kind": shipment["kind"],
            "status": shipment["status"], "barcode": shipment.get("barcode"),
            "applications": [collected_view(a, shipment) for a in shipment["applications"]],
            "manifest_id": shipment.get("manifest_id"),
            "created_at": shipment["created_at"].isoformat(),
            "dispatched_at": shipment["dispatched_at"].isoformat()
            if shipment.get("dispatched_at") else None,
            "picked_up_at": shipment.get("picked_up_at"),
            "awaits_reprint": shipment.get("awaits_reprint"),
            "last_news_at": shipment["last_news_at"].isoformat(),
            "personal_data_purged_at": _iso(shipment.get("personal_data_purged_at")),
            "destination": {key: receiver.get(key) for key in ("subdistrict", "district", "city")}}
    if shipment.get("hold"):
        view["hold"] = {**shipment["hold"], "since": shipment["hold"]["since"].isoformat()}
    for note in ("released", "returned_at_dinas"):  # an operator's (outside audit G5; review)
        if shipment.get(note):
            view[note] = {**shipment[note], "at": shipment[note]["at"].isoformat()}
    if with_history:
        view["history"] = [{key: entry.get(key) for key in
                            ("status", "at", "location", "note", "source", "stale")}
                           | {"received_at": entry["received_at"].isoformat()}
                           | ({"by": entry["by"]} if entry.get("by") else {})
                           for entry in shipment["history"]]
    return view


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def manifest_view(manifest: dict, shipment: dict | None) -> dict:
    """What operators see of a manifest: how it goes back to its kelurahan
    (``jemput_bola.manifest_status``), the members it still waits for, the
    operator's choice of Pos and printing's answer (no office address),
    the officer's day at the Dinas, and its shipment once made."""
    by_pos, at_dinas = manifest.get("by_pos"), manifest.get("at_dinas")
    return {
        "manifest_id": manifest["_id"], "kelurahan_code": manifest["kelurahan_code"],
        "status": manifest_status(manifest, shipment is not None),
        "not_printed": sorted(not_printed(manifest)),
        "by_pos": None if not by_pos else {
            "status": pos_status(manifest), "decided_by": by_pos["decided_by"],
            "decided_at": _iso(by_pos["decided_at"]),
            "answered_at": _iso(by_pos.get("answered_at")), "reason": by_pos.get("reason")},
        "at_dinas": None if not at_dinas else {"day": at_dinas.get("day"),
                                               "at_office_from": at_dinas.get("at_office_from")},
        "shipment": None if shipment is None else shipment_view(shipment)}
