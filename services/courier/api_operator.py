"""Courier's operator endpoints (operator tokens, ``OPERATOR_TOKENS``;
docs/courier-api.md, Operators' view):

  GET  /api/v1/shipments?status=&from=&to=&cursor=  newest first, paged
  GET  /api/v1/shipments/stuck?days=3&cursor=      shipments with no news for days, paged
  GET  /api/v1/shipments/<shipment id or barcode>   one, with its tracking history
  POST /api/v1/shipments/<shipment id>/release      a held shipment's address corrected
  POST /api/v1/shipments/<shipment id>/returned     a parcel of Pos' back at the Dinas
  POST /api/v1/manifests/<manifest id>/send-by-pos  a kelurahan's batch by Pos
  GET  /api/v1/manifests/<manifest id>              whether it goes by Pos

A mixin of ``CourierApi`` (its ``store``, ``operators``, ``pos`` and ``settings``).
"""

from __future__ import annotations

import datetime
import logging

from shared.clock import WIB
from shared.http import (api, json_response, read_json, read_no_query, read_optional_json,
                         read_query)
from shared.paging import next_page

from .dispatch import post_shipment
from .domain import AWAITS_REPRINT, manifest_order_id
from .exceptions import (AddressStillIncomplete, PosBusy, PosRefused, PosUnavailable,
                         UndeliverableAddress, UndeliverableByPos, UnknownShipment)
from .schemas import (AddressCorrectionSchema, KelurahanOfficeSchema, ReturnedAtDinasSchema,
                      ShipmentQuerySchema, StuckQuerySchema, manifest_view, shipment_view)

log = logging.getLogger(__name__)


class CourierOperatorApi:
    @api("GET", "/api/v1/shipments")
    def list_shipments(self, request):
        """?status=delivered&from=2026-11-01&to=2026-11-30&limit=100&cursor=...
        -> 200 {"shipments": [...], "next_cursor": "..." | null}"""
        self.operators.authenticate(request)
        query = read_query(request, ShipmentQuerySchema())
        since = wib_midnight(query["from_"])
        until = wib_midnight(query["to"] and query["to"] + datetime.timedelta(days=1))
        found = self.store.list_shipments(query["status"], since, until, query["limit"] + 1,
                                          query["cursor"])
        page, cursor = next_page(found, query["limit"], "created_at")
        return json_response(200, {"shipments": [shipment_view(s) for s in page],
                                   "next_cursor": cursor})

    @api("GET", "/api/v1/shipments/stuck")
    def stuck_shipments(self, request):
        """?days=3&limit=100&cursor=... -> 200 {"days": 3, "shipments": [...],
        "next_cursor": "..." | null}, oldest news first"""
        self.operators.authenticate(request)
        query = read_query(request, StuckQuerySchema())
        found = self.store.stuck(query["days"], query["limit"] + 1, query["cursor"])
        page, cursor = next_page(found, query["limit"], "last_news_at")
        return json_response(200, {"days": query["days"],
                                   "shipments": [shipment_view(s) for s in page],
                                   "next_cursor": cursor})

    @api("GET", "/api/v1/shipments/<string:shipment_id>")
    def shipment(self, request, shipment_id):
        self.operators.authenticate(request)
        read_no_query(request)
        return json_response(200, shipment_view(self.store.shipment(shipment_id), True))

    @api("POST", "/api/v1/shipments/<string:shipment_id>/release")
    def release_held_shipment(self, request, shipment_id):
        """{"postal_code": "42171"} or {"kelurahan_code": "3673041010", ...}
        -> 200 the shipment, dispatched (400 naming what the address still lacks)"""
        operator = self.operators.authenticate(request)
        # none: the same request again after a 503 (any body, none too)
        corrections = read_optional_json(request, AddressCorrectionSchema())
        try:
            shipment = self.store.release_held(shipment_id, corrections, operator,
                                               self.settings.regions, self.pos.sender)
            if not shipment.get(AWAITS_REPRINT):  # else the reprint's print posts it
                shipment = post_shipment(self.pos, self.store, shipment)
        except UndeliverableAddress as exc:
            raise AddressStillIncomplete(exc.fields) from None
        except PosUnavailable as exc:
            # 503 + Retry-After (Pos' own, if it gave one): the same request again posts it
            raise PosBusy(exc.retry_after) from None
        except PosRefused as exc:
            raise UndeliverableByPos(str(exc)) from None
        log.info("shipment %s released by %s", shipment["_id"], operator)
        return json_response(200, shipment_view(shipment))

    @api("POST", "/api/v1/shipments/<string:shipment_id>/returned")
    def record_returned(self, request, shipment_id):
        """{"reason": "brought_back_by_pos"} -> 200 the shipment, ``returned``
        (``parcel_returned`` told once: the same request again answers it as
        it is); 409 ``final`` or ``not_posted`` naming its status"""
        operator = self.operators.authenticate(request)
        body = read_json(request, ReturnedAtDinasSchema())
        shipment = self.store.record_returned(shipment_id, body["reason"], operator)
        log.info("shipment %s recorded back at the Dinas by %s (%s)", shipment["_id"], operator,
                 body["reason"])
        # with its history, the operator's entry last, as docs/courier-api.md says (audit hM)
        return json_response(200, shipment_view(shipment, True))

    @api("POST", "/api/v1/manifests/<string:manifest_id>/send-by-pos")
    def send_manifest_by_pos(self, request, manifest_id):
        """{"street": "Jl. Raya Curug No. 3", "postal_code": "42171", "phone": "0254..."}
        -> 200 the manifest's shipment; or 202 ``requested`` (printing has not
        confirmed yet that the manifest did not go to its officer at the
        Dinas) or ``waiting_for_print`` (confirmed; it is posted when the last
        document is printed); 409 ``collected_at_dinas`` once its
        kelurahan's officer was called to collect it at the Dinas; 503
        ``not_yet_known`` for a fresh id courier has not heard of yet, 404
        for any other unknown one. GET .../manifests/<id> follows it."""
        operator = self.operators.authenticate(request)
        office = read_json(request, KelurahanOfficeSchema())
        try:
            manifest, shipment = self.store.send_manifest_by_pos(
                manifest_id, office, operator, self.settings.regions, self.pos.sender)
            if shipment is not None:
                shipment = post_shipment(self.pos, self.store, shipment)
        except PosUnavailable as exc:
            # 503 + Retry-After (Pos' own, if it gave one): the same request again is safe
            raise PosBusy(exc.retry_after) from None
        except PosRefused as exc:
            raise UndeliverableByPos(str(exc)) from None
        if shipment is None:
            try:
                shipment = self.store.shipment(manifest_order_id(manifest_id))
            except UnknownShipment:
                return json_response(202, manifest_view(manifest, None))
        return json_response(200, shipment_view(shipment))

    @api("GET", "/api/v1/manifests/<string:manifest_id>")
    def manifest(self, request, manifest_id):
        """-> 200 {"manifest_id", "status": "at_dinas" | "requested" | "waiting_for_print"
        | "refused" | "posted" | null, ...}: how the manifest goes back to its kelurahan,
        as far as courier knows; 503 ``not_yet_known`` / 404 as for send-by-pos."""
        self.operators.authenticate(request)
        read_no_query(request)
        return json_response(200, manifest_view(*self.store.manifest(manifest_id)))


def wib_midnight(day: datetime.date | None) -> datetime.datetime | None:
    return None if day is None else datetime.datetime.combine(day, datetime.time(), WIB)
