"""What the citizen reads: SMS and email texts. Plain Python, no nameko.

Bahasa Indonesia unless the citizen asked for English. Texts never contain a
NIK, KK or phone number; the tracking code identifies the application.
"""

from __future__ import annotations

import datetime

from babel.dates import format_date

DOCUMENT_NAMES = {
    "ktp_el": ("KTP-el", "KTP-el (ID card)"),
    "akta_kelahiran": ("Akta Kelahiran", "birth certificate"),
    "akta_kematian": ("Akta Kematian", "death certificate"),
    "skpwni": ("SKPWNI", "SKPWNI (moving certificate)"),
    "kia": ("KIA", "KIA (child ID card)"),
}


def slot_day(slot: dict, lang: str) -> str:
    """``"Senin, 30 November 2026"`` / ``"Monday, 30 November 2026"``."""
    day = datetime.date.fromisoformat(slot["date"])
    # CLDR names from Babel: strftime would follow the process locale
    return format_date(day, format="EEEE, d MMMM y", locale="en" if lang == "en" else "id")


def pickup_sms(event: dict) -> str:
    slot, lang = event["slot"], event["contact"]["language"]
    doc = DOCUMENT_NAMES[event["document_type"]][1 if lang == "en" else 0]
    if lang == "en":
        return (f"Smartdukcapil: your {doc} ({event['tracking_code']}) is ready. Collect it at "
                f"{slot['place']}, {slot['address']}, {slot_day(slot, lang)}, "
                f"{slot['start']}-{slot['end']} WIB. Bring your application receipt.")
    return (f"Smartdukcapil: {doc} Anda ({event['tracking_code']}) sudah jadi. Silakan ambil di "
            f"{slot['place']}, {slot['address']}, {slot_day(slot, lang)} pukul "
            f"{slot['start']}-{slot['end']} WIB. Bawa bukti pendaftaran.")


def pickup_email(event: dict) -> tuple[str, str]:
    """(subject, body) of the pickup email."""
    slot, lang = event["slot"], event["contact"]["language"]
    doc = DOCUMENT_NAMES[event["document_type"]][1 if lang == "en" else 0]
    if lang == "en":
        subject = f"Your {doc} is ready for collection ({event['tracking_code']})"
        body = (f"Dear {event['full_name']},\n\n"
                f"Your {doc} (tracking code {event['tracking_code']}) has been printed.\n\n"
                f"Collect it at: {slot['place']}\n{slot['address']}\n"
                f"Day: {slot_day(slot, lang)}\nTime: {slot['start']}-{slot['end']} WIB\n\n"
                "Please bring your application receipt.\n\nSmartdukcapil - Disdukcapil")
    else:
        subject = f"{doc} Anda siap diambil ({event['tracking_code']})"
        body = (f"Yth. {event['full_name']},\n\n"
                f"{doc} Anda (kode lacak {event['tracking_code']}) sudah dicetak.\n\n"
                f"Tempat pengambilan: {slot['place']}\n{slot['address']}\n"
                f"Hari: {slot_day(slot, lang)}\nPukul: {slot['start']}-{slot['end']} WIB\n\n"
                "Mohon membawa bukti pendaftaran.\n\nSmartdukcapil - Disdukcapil")
    return subject, body
