"""A notice's WhatsApp template parameters, made to Meta's rules. Plain
Python, no I/O.

Each notice kind has a pre-approved template (``smartdukcapil_<kind>``)
whose body parameters are the values ``WHATSAPP_PARAMS`` names, from
``messages.values_for``. Meta refuses a template message whose body
parameter holds a newline, a tab or more than 4 spaces in a row (error
132018), or whose body, the parameters filled in, is longer than 1,024
characters (132005): the notice would reach the citizen only by the next
channel, a round trip later - so every parameter is put on one line, and
together they keep within what the template's own words leave.
"""

from __future__ import annotations

from shared.offices import STATUS_SITE

# kind -> the values, in order, of its pre-approved WhatsApp template's body
WHATSAPP_PARAMS = {
    "received": ("doc", "tracking_code"),
    "prr_received": ("doc", "tracking_code"),
    "kecamatan_received": ("doc", "tracking_code"),
    "pos_received": ("doc", "tracking_code"),
    "rejected": ("doc", "tracking_code", "reasons_text"),
    "cancelled": ("doc", "tracking_code"),
    "print_cancelled": ("doc", "tracking_code"),
    "print_cancelled_deceased": ("doc", "tracking_code"),
    "appointment": ("when", "place", "booking_code"),
    "appointment_cancelled": ("day", "place", "booking_code"),
    # a pickup window names the place's address, as the e-mail always does
    # (a place's name alone sent citizens asking the way - outside review)
    "ready": ("doc", "tracking_code", "place", "address", "day", "window"),
    "returned": ("doc", "tracking_code", "place", "address", "day", "window"),
    "pickup_moved": ("doc", "tracking_code", "place", "address", "day", "window"),
    "dispatched": ("doc", "tracking_code", "barcode_text"),
    "delivered": ("doc", "tracking_code"),
    "delivery_failed": ("doc", "tracking_code"),
    "dispatched_kelurahan": ("doc", "tracking_code", "office"),
    "delivered_kelurahan": ("doc", "tracking_code", "office"),
    "delivery_failed_kelurahan": ("doc", "tracking_code", "office"),
    "tracking_code": ("doc", "tracking_code"),
    "office_pickup": ("doc", "tracking_code", "office", "from_text"),
}

# Meta's limit on a body, parameters filled in. The approved templates' own
# words stay within WHATSAPP_TEMPLATE_WORDS characters (a rule for whoever
# submits one to Meta), so the parameters of one message share the rest
WHATSAPP_BODY_LIMIT = 1024
WHATSAPP_TEMPLATE_WORDS = 324
WHATSAPP_PARAMS_ROOM = WHATSAPP_BODY_LIMIT - WHATSAPP_TEMPLATE_WORDS
CUT = "\u2026"
# how a parameter cut short ends when its whole text can be read elsewhere:
# the rejection's reasons and note in the status lookup, as the SMS's brief form says
READ_IN_FULL = {"reasons_text": {
    "id": CUT + f" (selengkapnya: cek status di {STATUS_SITE})",
    "en": CUT + f" (in full: status lookup at {STATUS_SITE})"}}


def one_line(value: object) -> str:
    """A WhatsApp parameter on one line, single-spaced (newlines, tabs and
    runs of spaces each become one space); ``"-"`` for none, as Meta
    refuses an empty one."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text or "-"


def cut(text: str, room: int, ending: str = CUT) -> str:
    """``text`` in at most ``room`` characters: whole if it fits, else cut
    after a word where one ends near the limit, then ``ending``."""
    if len(text) <= room:
        return text
    if len(ending) >= room:
        ending = CUT
    kept = text[:room - len(ending)]
    words = kept.rsplit(" ", 1)[0] if " " in kept else kept
    if len(words) >= len(kept) - 20:  # a word's end nearby: no half word
        kept = words
    return kept.rstrip(" ,;:-") + ending


def whatsapp_params(kind: str, values: dict) -> tuple[str, ...]:
    """The body parameters of ``kind``'s template, each on one line, all
    within ``WHATSAPP_PARAMS_ROOM``: the shorter ones whole, the longer
    sharing what is left - cut with ``CUT``, or where the whole text can be
    read elsewhere with ``READ_IN_FULL``'s pointer to it."""
    names = WHATSAPP_PARAMS.get(kind, ())
    texts = {name: one_line(values[name]) for name in names}
    room, left = WHATSAPP_PARAMS_ROOM, len(names)
    for name in sorted(names, key=lambda name: len(texts[name])):
        ending = READ_IN_FULL.get(name, {}).get("en" if values["lang"] == "en" else "id", CUT)
        texts[name] = cut(texts[name], room // left, ending)
        room, left = room - len(texts[name]), left - 1
    return tuple(texts[name] for name in names)
