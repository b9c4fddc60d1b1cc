"""Call an operation of a served OpenAPI document as its caller would: the
headers of one of its security requirements (every service's schemes by
name) and probe values for its path parameters (no such resource)."""

from __future__ import annotations

import time

from services.courier.signatures import sign
from tests.helpers import (KECAMATAN_OFFICER, KELURAHAN_OFFICER, OPERATOR,
                           PRINTING_SERVICE_TOKEN, STATION)

TOKENS = {"station": STATION, "operator": OPERATOR, "kelurahanOfficer": KELURAHAN_OFFICER,
          "kecamatanOfficer": KECAMATAN_OFFICER,
          "service": {"Authorization": f"Bearer {PRINTING_SERVICE_TOKEN}"}}
VALUES = {name: "openapi-probe" for name in (
    "application_id", "document_id", "batch_id", "job_id", "station_id", "import_id",
    "shipment_id", "manifest_id", "notification_id")}


def credentials(system, operation: dict, body: bytes = b"", alternative: int = 0) -> dict:
    """The headers of one of the operation's security requirements (any one
    of them grants it): the first, or ``alternative``; none for a public one.
    A bearer token, or Pos' signature over ``body`` (signed as Pos signs: a
    forgery would count against this client's webhook limit)."""
    requirements = operation.get("security") or [{}]
    headers = {}
    for scheme in requirements[alternative]:
        if scheme == "posSignature":
            headers["X-Pos-Signature"] = sign(system.env()["POS_WEBHOOK_SECRET"], body,
                                              int(time.time()))
        else:
            headers.update(TOKENS[scheme])
    return headers
