"""What people read: every notice rendered from its template files. Plain
Python, no nameko, no I/O beyond reading the templates.

``templates/sms/<kind>.j2`` and ``templates/email/<kind>.j2`` (blocks
``subject`` and ``content``), Bahasa Indonesia first and English when the
contact chose it. The SMS is transliterated to GSM-7 and must fit one part:
when the full text does not (a long reason, a long address), the template's
``brief`` form is used, which leaves out what the email carries anyway (and,
where even that may not fit, a briefer one: ``BRIEF_FORMS``). The
WhatsApp message is a pre-approved template (``smartdukcapil_<kind>``) whose
body parameters are made to Meta's rules in ``whatsapp_params``.

Texts never contain a NIK, KK or phone number: the values handed to the
templates are built here (``values_for``), from the fields a notice needs.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.events import manifest_parts, shipment_manifest
from shared.fields import has_text
from shared.masking import mask_text
from shared.offices import DINAS, PLACES, STATUS_SITE
from shared.wilayah import load_wilayah

from .gsm7 import fits_one_part, spelled_in_gsm7, transliterate
from .whatsapp_params import whatsapp_params

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                  autoescape=select_autoescape(["html.j2"], default=False),
                  trim_blocks=True, lstrip_blocks=True)
# a value that may begin a sentence ("the death certificate you applied for")
ENV.filters["upper_first"] = lambda text: text[:1].upper() + text[1:]
ENV.globals["site"] = STATUS_SITE  # shared.offices: in every template

DOCUMENT_NAMES = {
    "ktp_el": ("KTP-el", "KTP-el (ID card)"),
    "akta_kelahiran": ("Akta Kelahiran", "birth certificate"),
    "akta_kematian": ("Akta Kematian", "death certificate"),
    "skpwni": ("SKPWNI", "SKPWNI (moving certificate)"),
    "kia": ("KIA", "KIA (child ID card)"),
}
# documents whose applicant is not their subject (the parent of a child,
# who reported a death): "Akta Kematian Anda" would read as the applicant's own
APPLIED_FOR_OTHERS = frozenset({"akta_kelahiran", "akta_kematian", "kia"})
# in an SMS every character counts
SHORT_NAMES = {"ktp_el": ("KTP-el", "KTP-el"), "akta_kelahiran": ("Akta Kelahiran", "Birth cert."),
               "akta_kematian": ("Akta Kematian", "Death cert."), "skpwni": ("SKPWNI", "SKPWNI"),
               "kia": ("KIA", "KIA")}

@dataclass(frozen=True)
class Texts:
    sms: str  # GSM-7
    subject: str
    text: str  # the email's plain-text part
    html: str  # the email's HTML part
    whatsapp: tuple[str, ...]  # body parameters of the WhatsApp template


def day_text(iso_date: str, lang: str, short: bool = False) -> str:
    """``"Senin, 30 November 2026"`` (short: ``"Senin, 30 Nov 2026"``, in
    English ``"Mon, 30 Nov 2026"``: a Bahasa day name abbreviated, "Jum",
    reads as a typo to its citizens, and costs at most 3 characters); CLDR
    names from Babel, not strftime, which follows the process locale."""
    day = datetime.date.fromisoformat(iso_date)
    pattern = "EEEE, d MMMM y" if not short else "EEE, d MMM y" if lang == "en" \
        else "EEEE, d MMM y"
    return format_date(day, format=pattern, locale="en" if lang == "en" else "id")


def clock_time(hh_mm: str, lang: str) -> str:
    """A time of day as each language writes it: ``"08.00"`` in Bahasa
    Indonesia (its own style, the PUEBI's), ``"08:00"`` in English."""
    return hh_mm if lang == "en" else hh_mm.replace(":", ".")


def time_span(start: str, end: str, lang: str) -> str:
    """``"08.00-09.00"`` / ``"08:00-09:00"`` (WIB, which the texts add)."""
    return f"{clock_time(start, lang)}-{clock_time(end, lang)}"


def dinas_values(lang: str) -> dict:
    """How a citizen reaches the Disdukcapil, for a notice that asks them
    to: its counter (``shared.offices.DINAS``), address, opening hours on
    working days (the status site: ``site``, every template's). No phone number: none is configured
    (a made-up one would send citizens nowhere)."""
    hours = time_span(DINAS.opening_hours["opens"], DINAS.opening_hours["closes"], lang)
    return {"counter": DINAS.name, "counter_address": DINAS.address,
            "counter_hours": f"Monday-Friday {hours} WIB, except public holidays"
            if lang == "en" else f"Senin-Jumat {hours} WIB, kecuali hari libur"}


def document_name(document_type: str, lang: str) -> str:
    return DOCUMENT_NAMES[document_type][1 if lang == "en" else 0]


def your_document(document_type: str, lang: str) -> str:
    """The document as the applicant's: ``"KTP-el Anda"`` / ``"your KTP-el
    (ID card)"``, or one applied for someone else ``"Akta Kematian yang Anda
    ajukan"`` / ``"the death certificate you applied for"``."""
    doc = document_name(document_type, lang)
    if document_type in APPLIED_FOR_OTHERS:
        return f"the {doc} you applied for" if lang == "en" else f"{doc} yang Anda ajukan"
    return f"your {doc}" if lang == "en" else f"{doc} Anda"


def slot_values(slot: dict | None, lang: str) -> dict:
    """A pickup window: its place, the day (``day_short`` for an SMS, and
    ``day_month``, without the year, for one that needs the room for the
    place's address: a window is days ahead), the hours (``window``)."""
    if not slot:
        return {"place": None, "address": None, "day": None, "day_short": None,
                "day_month": None, "window": None}
    short = day_text(slot["date"], lang, True)
    return {"place": slot["place"], "address": slot["address"],
            "day": day_text(slot["date"], lang), "day_short": short,
            "day_month": short.rsplit(" ", 1)[0],
            "window": time_span(slot["start"], slot["end"], lang)}


def appointment_values(event: dict, lang: str) -> dict:
    """A recording booking: the place, the day and the place's ``hours``
    ("08.00-15.00", WIB) - the event's, or for an older event without them
    the place's own (``shared.offices``; None for a place no longer listed) -
    and ``when``, the day with its hours, as one WhatsApp parameter."""
    place = PLACES.get(event.get("place_id"))
    known = event if event.get("opens") and event.get("closes") else \
        place.opening_hours if place else None
    hours = time_span(known["opens"], known["closes"], lang) if known else None
    day = day_text(event["day"], lang)
    return {"replaced": event.get("reason") == "replaced",
            "office_closed": event.get("reason") == "office_closed",
            "place": event["place_name"], "address": event["place_address"],
            "day": day, "day_short": day_text(event["day"], lang, True), "hours": hours,
            "when": f"{day} {'at' if lang == 'en' else 'pukul'} {hours} WIB" if hours else day,
            "booking_code": event["booking_code"], "tracking_code": event["booking_code"]}


def area_name(code: str) -> str:
    """A region's name from the region list (``shared/data/wilayah.csv``), title-cased."""
    name = load_wilayah().name(code)
    return name.title() if name else code


def parcel_kelurahan(event: dict) -> str | None:
    """The kelurahan code a ``parcel_*`` event's parcel goes to when it is a
    jemput-bola manifest's (the kelurahan office, not the citizen's home);
    ``""`` for a manifest naming none readable; None for a citizen's own parcel."""
    manifest_id = shipment_manifest(str(event.get("shipment_id") or ""))
    if manifest_id is None:
        return None
    parts = manifest_parts(manifest_id)  # a manifest id names its kelurahan
    return parts[0] if parts else ""


def office_name(kelurahan_code: str, lang: str) -> str:
    """``"Kantor Kelurahan Sukajaya"`` / ``"Kelurahan Sukajaya office"``."""
    name = load_wilayah().kelurahan(kelurahan_code) if kelurahan_code else None
    if lang == "en":
        return f"Kelurahan {name.title()} office" if name else "kelurahan office"
    return f"Kantor Kelurahan {name.title()}" if name else "kantor kelurahan"


def kecamatan_office_name(kecamatan_code: str, lang: str) -> str:
    """``"Kantor Kecamatan Curug"`` / ``"Kecamatan Curug office"``."""
    name = area_name(kecamatan_code)
    return f"Kecamatan {name} office" if lang == "en" else f"Kantor Kecamatan {name}"


def office_pickup_values(event: dict, lang: str) -> dict:
    """A document on an office's hand-over list (``domain.office_pickups``):
    the office, the officer's day at the Dinas, the day it waits at the office
    from; ``first_card``: a kecamatan's list holds next-day requests, which
    intake takes for a first KTP-el only - its citizen has no KTP-el to bring."""
    office = office_name(event["office_code"], lang) if event["office"] == "kelurahan" \
        else kecamatan_office_name(event["office_code"], lang)
    days = {name: (day_text(event[field], lang), day_text(event[field], lang, True))
            if event.get(field) else (None, None)
            for name, field in (("day", "day"), ("from", "at_office_from"))}
    return {"office": office, "level": event["office"],
            "first_card": event["office"] == "kecamatan",
            "day": days["day"][0], "day_short": days["day"][1],
            "from_day": days["from"][0], "from_short": days["from"][1],
            "from_text": days["from"][0] or "-"}


def handover_values(event: dict) -> dict:
    """A hand-over list's lines: each by the name on its document
    (``holder``, by which the officer finds it in the pile) and, where
    another applied for it, whom to hand it to (``applicant``); whether it
    follows an earlier list (``follow_up``)."""
    items = [{"tracking_code": item["tracking_code"],
              "holder": item.get("holder_name") or item["full_name"],
              "applicant": item["full_name"] if item.get("holder_name") not in (
                  None, item["full_name"]) else None,
              "doc": document_name(item["document_type"], "id")} for item in event["items"]]
    return {"items": items, "count": len(items), "follow_up": bool(event.get("follow_up"))}


def manifest_handover_values(event: dict) -> dict:
    """A jemput-bola hand-over as its officer reads it: how many documents
    this one holds, of how many the manifest has, how many Pos takes to
    their citizens' doors instead (``to_the_door``), and the rest
    (``left_out``: members not printed with them - rejected, withdrawn,
    their printing stopped; 0 when unknown, in older events), and whether
    it follows a hand-over of the same manifest (``follow_up``: a member
    printed after it went back)."""
    values = handover_values(event)
    members, to_the_door = event.get("members"), event.get("to_the_door") or 0
    left_out = 0 if members is None or values["follow_up"] else max(
        members - values["count"] - to_the_door, 0)
    return {**values, "manifest_id": event["manifest_id"], "members": members,
            "to_the_door": to_the_door, "left_out": left_out}


# intake's reason code whose text only points at the operator's note ("Lihat
# catatan petugas."): where the note itself is shown, it takes its place
NOTE_REASON = "other"
# the note is the officer's own words, most often Bahasa: an English reader
# is told it is quoted, not translated
NOTE_LABEL = {"id": "Catatan petugas", "en": "Officer's note (as written)"}


def sentence(text: str) -> str:
    """``text`` on one line, ending with a full stop unless it ends a
    sentence already: joined with others, no ``..`` and no ``.;``."""
    text = " ".join(str(text).split()).rstrip(" ;,:")
    return text if text.endswith((".", "!", "?")) else text + "."


def clause(text: str | None) -> str | None:
    """A partner's free text (Pos' note) on one line, without the full stop
    or separator it may end with: the templates end the sentence it stands
    in (a note typed "Alamat tidak ditemukan." read '..."Alamat tidak
    ditemukan.".' and "(...ditemukan.)")."""
    return " ".join(str(text).split()).rstrip(" ;,:.") or None if text else None


def rejection_values(event: dict, lang: str) -> dict:
    """A rejection as each channel tells it. The e-mail lists ``reasons``
    and adds the operator's ``note``; a text with no room for a list - the
    SMS (``points``: one GSM-7 part, else its brief form gives the first
    reason's catalogue text, ``first_reason``, never the note, and says how
    many reasons follow it (``more_reasons``) and whether a note does, and
    where they are read, else only where) and WhatsApp's
    one template parameter (``reasons_text``, the note labelled) - gives
    each reason as a sentence and the note in place of the reason that only
    points at it (``other``, told by ``reason_codes``, in step with
    ``reasons``), else after them. Intake masks a NIK or phone number typed
    into the note; masked here too, as every text a citizen reads must be."""
    note = mask_text(event.get("note")) if has_text(event.get("note")) else None
    reasons, codes = event["reasons"], event.get("reason_codes") or []
    pointers = {n for n, code in enumerate(codes) if code == NOTE_REASON} \
        if note and len(codes) == len(reasons) else set()
    kept = [sentence(reason) for n, reason in enumerate(reasons) if n not in pointers]
    points, labelled = list(kept), list(kept)
    label = NOTE_LABEL["en" if lang == "en" else "id"]
    if note:
        points.append(sentence(note))
        labelled.append(f"{label}: {sentence(note)}")
    return {"reasons": reasons, "note": note, "points": " ".join(points), "note_label": label,
            "reasons_text": " ".join(labelled),
            "first_reason": kept[0] if kept else None, "more_reasons": max(len(kept) - 1, 0)}


def values_for(kind: str, event: dict, lang: str) -> dict:
    """What the templates of ``kind`` may show, from the event: never its
    NIK, KK or contact details."""
    values = {"lang": lang, "kind": kind, "full_name": event.get("full_name"),
              "tracking_code": event.get("tracking_code"),
              "doc": document_name(event["document_type"], lang)
              if event.get("document_type") else None,
              "your_doc": your_document(event["document_type"], lang)
              if event.get("document_type") else None,
              "doc_short": SHORT_NAMES[event["document_type"]][1 if lang == "en" else 0]
              if event.get("document_type") else None}
    values.update(slot_values(event.get("slot"), lang), dinas=dinas_values(lang),
                  returned=bool(event.get("returned")))
    if kind == "print_cancelled_deceased":
        # its name is the applicant's, who may be the deceased (a KTP-el is
        # applied for by its holder): the e-mail greets "Bapak/Ibu"
        values["full_name"] = None
    elif kind == "rejected":
        values.update(rejection_values(event, lang))
    elif kind in ("appointment", "appointment_cancelled"):
        values.update(appointment_values(event, lang))
    elif kind in ("dispatched", "delivered", "delivery_failed",
                  "dispatched_kelurahan", "delivered_kelurahan", "delivery_failed_kelurahan"):
        values.update(barcode=event.get("barcode"), reason=clause(event.get("reason")),
                      barcode_text=event.get("barcode") or "-",
                      office=office_name(parcel_kelurahan(event) or "", lang))
    elif kind == "office_pickup":
        values.update(office_pickup_values(event, lang))
    elif kind == "batch_ready":
        values.update(manifest_handover_values(event),
                      area=f"Kelurahan {area_name(event['kelurahan_code'])}")
    elif kind == "handover_ready":
        values.update(handover_values(event), area=f"Kecamatan {area_name(event['kecamatan_code'])}",
                      day=day_text(event["day"], "id"))
        if event.get("slot"):
            values["day"] = day_text(event["slot"]["date"], "id")
    elif kind == "blanko_low":
        place = PLACES.get(event["place_id"])
        values.update(station_id=event["station_id"], stock_left=event["stock_left"],
                      threshold=event["threshold"],
                      place=place.name if place else event["place_id"])
    return values


# ``brief`` as an SMS template sees it, tried in turn until the text fits one
# part: 0 the full text, 1 its brief form; 2 and 3 briefer ones still, for a
# template that has them (``brief > 1``, ``brief > 2``; the others read 2
# and 3 as 1, or 3 as 2)
BRIEF_FORMS = (0, 1, 2, 3)


# a partner's free text (Pos' note, a parcel's ``reason``), in whatever
# script its courier typed: in an SMS only where GSM-7 spells it - "Pos gagal
# mengantar ... (??? ?????)" reached a citizen (outside audit R2)
SMS_FREE_TEXT = ("reason",)


def sms_text(kind: str, values: dict) -> str:
    """The SMS in GSM-7, one part if the template's brief forms can make it."""
    values = {**values, **{name: None for name in SMS_FREE_TEXT
                           if values.get(name) and not spelled_in_gsm7(values[name])}}
    template = ENV.get_template(f"sms/{kind}.j2")
    text, spelled = "", None
    for brief in BRIEF_FORMS:
        rendered = " ".join(template.render(values, brief=brief).split())
        text = transliterate(rendered)
        # a form GSM-7 cannot spell whole (an officer's note with an arrow or
        # a tick: "Foto KK ? buram") gives way to a briefer one that can
        # (a review); none can: the first that fits
        if fits_one_part(text):
            if spelled_in_gsm7(rendered):
                return text
            spelled = spelled or text
    if spelled is not None:
        return spelled
    log.warning("%s SMS needs more than one part (%d characters)", kind, len(text))
    return text


def email_parts(kind: str, values: dict) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the email."""
    template = ENV.get_template(f"email/{kind}.j2")
    subject = " ".join("".join(template.blocks["subject"](template.new_context(values))).split())
    text = re.sub(r"\n{3,}", "\n\n", template.render(values)).strip() + "\n"
    paragraphs = [block.split("\n") for block in text.strip().split("\n\n")]
    html = ENV.get_template("email/layout.html.j2").render(
        lang=values["lang"], subject=subject, paragraphs=paragraphs)
    return subject, text, html


# kinds whose SMS and e-mail are another's words (WhatsApp's template is
# their own): a document Pos brought back, told by ``ready``'s (``returned``)
SAME_WORDS = {"returned": "ready"}


def render(kind: str, event: dict, lang: str, sms: bool = True, email: bool = True) -> Texts:
    """A notice's texts: the SMS only for a contact with a phone (``sms``),
    the e-mail's only for one with an address (``email``: kept with every
    message of the notice, ~1 KB a message for nothing otherwise); the
    other's left empty."""
    values = values_for(kind, event, lang)
    words = SAME_WORDS.get(kind, kind)
    subject, text, html = email_parts(words, values) if email else ("", "", "")
    whatsapp = whatsapp_params(kind, values)
    return Texts(sms=sms_text(words, values) if sms else "", subject=subject, text=text,
                 html=html, whatsapp=whatsapp)
