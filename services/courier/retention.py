"""How long courier keeps a citizen's personal data, and what goes then.
Plain Python: no nameko, no pymongo.

A TTL index would delete the whole shipment, and courier needs the final
ones themselves: a returned parcel is what keeps a reprint at the counter
(``domain.dispatch_wanted``), and the operators' list and history show what
happened to each document. So a shipment final (``delivered``, ``returned``:
``domain.FINAL``) for ``RETENTION_DAYS`` loses only what names or locates
its citizen - the label's receiver name, phone, street and RT/RW, Pos' free
text in the history (a note such as "diterima oleh Ibu Siti", the
location) - and is marked ``personal_data_purged_at``. Its ids, barcode,
tracking codes, statuses, times and the destination's region names (the
kelurahan, kecamatan, kab/kota, province and postal code: what operators
see) stay. The application's delivery record (name, contact, address)
goes with its last shipment's (``deliveries_to_purge``). A Pos-bound
application that ends with no shipment final - cancelled, rejected, its
print cancelled, collected at the Dinas - starts its delivery record's own
``retention_from`` then (``ended_delivery``); ``RETENTION_DAYS`` later the
record loses the same fields, unless a shipment still holding personal
data carries it (that shipment's purge takes it then).

A shipment not final never loses them (``held``, ``pending``, still with
Pos): it may yet need its address. ``retention_from`` (when courier took
the final news) says a shipment still holds them; the purge removes it, so
the index on it holds only what is still to purge.
"""

from __future__ import annotations

import datetime

from shared.settings import InvalidSetting, integer, whole_days

DEFAULT_RETENTION_DAYS = 365
# Pos' late news, a returned parcel's reprint and an event redelivered
# within the services' inbox retention (30 days) all find the shipment whole
MIN_RETENTION_DAYS = 30
DEFAULT_PURGE_BATCH = 200

# what names or locates the citizen on a shipment (the receiver is the
# kelurahan office's for a jemput-bola parcel: purged the same)
RECEIVER_FIELDS = ("name", "phone", "address", "rt", "rw")
HISTORY_FIELDS = ("note", "location")
# and on its application's delivery record
DELIVERY_FIELDS = ("full_name", "contact", "delivery_address")


def retention(config: dict) -> datetime.timedelta:
    """``RETENTION_DAYS``: whole days, at least ``MIN_RETENTION_DAYS``
    (``InvalidSetting`` naming it otherwise: courier refuses to start)."""
    return whole_days(config, "RETENTION_DAYS", DEFAULT_RETENTION_DAYS, MIN_RETENTION_DAYS)


def purge_batch(config: dict) -> int:
    """``PURGE_BATCH``: shipments purged per run, 1 or more."""
    batch = integer(config, "PURGE_BATCH", DEFAULT_PURGE_BATCH)
    if batch < 1:
        raise InvalidSetting("PURGE_BATCH", "a whole number, 1 or more")
    return batch


def shipment_purge(now: datetime.datetime) -> dict:
    """The update that takes a shipment's personal data (idempotent)."""
    unset = {f"posting.receiver.{field}": "" for field in RECEIVER_FIELDS}
    unset |= {f"history.$[].{field}": "" for field in HISTORY_FIELDS}
    return {"$unset": {**unset, "retention_from": ""},
            "$set": {"personal_data_purged_at": now}}


def delivery_purge(now: datetime.datetime) -> dict:
    return {"$unset": {**dict.fromkeys(DELIVERY_FIELDS, ""), "retention_from": ""},
            "$set": {"personal_data_purged_at": now}}


def ended_delivery(application_id: str) -> dict:
    """The filter of a delivery record whose retention starts when its
    application ends with no shipment final: a Pos-bound one still holding
    its personal data, not counting already (the first end counts)."""
    return {"_id": application_id, "delivery_method": "pos",
            "personal_data_purged_at": {"$exists": False}, "retention_from": {"$exists": False}}


def carried(shipments: list[dict]) -> list[str]:
    """The applications the shipments carry."""
    return sorted({application["application_id"] for shipment in shipments
                   for application in shipment["applications"]})


def holding(carrying: list[dict]) -> set[str]:
    """The applications a shipment of ``carrying`` still holding personal data
    carries: a reprint's, not final yet, may still need the address; a final
    one's purge takes the delivery record with it."""
    return {application["application_id"] for shipment in carrying
            if not shipment.get("personal_data_purged_at")
            for application in shipment["applications"]}


def deliveries_to_purge(purged: list[dict], carrying: list[dict]) -> list[str]:
    """The applications whose delivery record goes: those the ``purged``
    shipments carry, unless another shipment carrying it (``carrying``, as
    stored after the purge) still holds personal data."""
    held = holding(carrying)
    return [application_id for application_id in carried(purged) if application_id not in held]
