"""The AddPostingDoc body Pos Indonesia receives. Plain Python, no I/O.

Receiver from the application's delivery address: street, RT/RW, and the
kelurahan, kecamatan, kab/kota and province *names* resolved from the
kelurahan code through the region list (``shared.wilayah``); the postal
code given, or else the kelurahan's from the region list (PRR records often
come without one).
Sender: the Dinas (config). Item: the document, its type and weight.
Every phone number on a label in E.164 (``pos_phone``), wherever it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.fields import e164, indonesian_number
from shared.wilayah import Wilayah, normalize_code

from .exceptions import UndeliverableAddress

SERVICE_CODE = "PKH"  # Pos Kilat Khusus: tracked, next-day within the city
# what goes in the envelope, and what it weighs with it (grams)
ITEMS = {
    "ktp_el": ("KTP-el", 20),
    "kia": ("Kartu Identitas Anak", 20),
    "akta_kelahiran": ("Akta Kelahiran", 50),
    "akta_kematian": ("Akta Kematian", 50),
    "skpwni": ("SKPWNI", 50),
}
MANIFEST_GRAMS_EACH = 50  # a jemput-bola parcel: the envelope per document, roughly


def pos_phone(number: str | None) -> str | None:
    """A phone number as Pos gets it: E.164 (``+62...``), whatever its source -
    a citizen's mobile (E.164 already, from intake), a kelurahan office's
    landline as an operator typed it (``0254123456``), the Dinas' from config.
    None for no number, or one that is not a number in Indonesia's plan
    (letters are not read as keypad digits: ``shared.fields.indonesian_number``)."""
    parsed = indonesian_number(number)
    return None if parsed is None else e164(parsed)


@dataclass(frozen=True)
class Sender:
    """The Dinas, as Pos prints it on the label (config: ``POS_SENDER_*``).
    Its phone is kept in E.164 (``ValueError`` if it is no number): it is
    also the receiver's for a citizen who gave only an e-mail."""
    name: str
    address: str
    city: str
    zip_code: str
    phone: str

    def __post_init__(self):
        phone = pos_phone(self.phone)
        if phone is None:
            raise ValueError("the sender's phone is not a phone number in Indonesia")
        object.__setattr__(self, "phone", phone)  # frozen: set once, here

    def as_party(self) -> dict:
        return {"name": self.name, "address": self.address, "city": self.city,
                "zipCode": self.zip_code, "phone": self.phone}


def rt_rw(address: dict) -> str | None:
    rt, rw = address.get("rt"), address.get("rw")
    if not rt and not rw:
        return None
    return f"RT {rt or '-'}/RW {rw or '-'}"


def receiver(name: str, phone: str | None, address: dict, regions: Wilayah,
             fallback_phone: str) -> dict:
    """Pos' receiver block. ``fallback_phone`` (the Dinas') when the citizen
    gave only an e-mail: Pos needs a number to call, and the Dinas can relay.
    The phone in E.164 (``pos_phone``); one that is not a number (none such
    is taken in now) gets the fallback too."""
    code = normalize_code(address.get("kelurahan_code"))
    area = regions.area(code)
    kelurahan = area["kelurahan"]
    postal = str(address.get("postal_code") or regions.postal_code(code) or "")
    problems = ([] if kelurahan else ["kelurahan_code"]) + \
        ([] if re.fullmatch(r"\d{5}", postal) else ["postal_code"])
    if problems:
        raise UndeliverableAddress(problems)
    street = " ".join(filter(None, [address["street"], rt_rw(address)]))
    return {"name": name, "phone": pos_phone(phone) or pos_phone(fallback_phone),
            "address": street, "rt": address.get("rt"), "rw": address.get("rw"),
            "subdistrict": kelurahan, "district": area["kecamatan"],
            "city": area["kabkota"], "province": area["province"],
            "zipCode": postal}


def posting_doc(order_id: str, item: str, weight: int, receiver_party: dict,
                sender: Sender) -> dict:
    return {"orderId": order_id, "itemDesc": item, "itemType": "DOCUMENT", "weight": weight,
            "serviceCode": SERVICE_CODE, "sender": sender.as_party(), "receiver": receiver_party}


def application_posting(order_id: str, delivery: dict, regions: Wilayah, sender: Sender) -> dict:
    """The posting of one citizen's document to their door."""
    item, grams = ITEMS[delivery["document_type"]]
    party = receiver(delivery["full_name"], (delivery.get("contact") or {}).get("phone"),
                     delivery["delivery_address"], regions, sender.phone)
    return posting_doc(order_id, f"{item} {delivery['tracking_code']}", grams, party, sender)


def manifest_posting(order_id: str, manifest: dict, office: dict, count: int,
                     regions: Wilayah, sender: Sender) -> dict:
    """One parcel with the ``count`` printed documents of a jemput-bola
    manifest it carries (``jemput_bola.parcel_members``: not those that will not be
    printed, nor one dropped since its print), to the kelurahan office."""
    address = {**office, "kelurahan_code": manifest["kelurahan_code"]}
    name = office.get("name") or f"Kantor Kelurahan {regions.kelurahan(manifest['kelurahan_code'])}"
    party = receiver(name, office.get("phone"), address, regions, sender.phone)
    item = manifest_item(manifest["_id"], count)
    return posting_doc(order_id, item["itemDesc"], item["weight"], party, sender)


def manifest_item(manifest_id: str, count: int) -> dict:
    """What a jemput-bola parcel's label says it holds: ``count`` documents
    and their weight (a parcel made, then one of its members dropped before
    it was posted, is posted with this again: ``CourierStore._manifest_shipment``)."""
    return {"itemDesc": f"Jemput bola {manifest_id}: {count} dokumen",
            "weight": MANIFEST_GRAMS_EACH * count}
