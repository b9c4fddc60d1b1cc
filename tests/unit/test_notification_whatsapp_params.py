"""WhatsApp template parameters as Meta takes them, for every notice: one
line each (no newline, no tab, no run of spaces: Meta's error 132018), never
empty, and together short enough for the body's 1,024 characters (132005) -
a rejection with every reason and a long note of many lines is cut short
with a pointer to where it is read in full. Checked against the WhatsApp
sandbox's own rules (``parameters_refused``), which the integration tests
send through over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.sandboxes.whatsapp import parameters_refused
from services.intake.reasons import CATALOGUE, reason_texts
from services.notification.messages import render, values_for
from services.notification.whatsapp_params import (CUT, WHATSAPP_PARAMS, WHATSAPP_PARAMS_ROOM,
                                                   cut, one_line)
from shared.events import DOCUMENT_TYPES
from tests.unit.test_notification_texts import CITIZEN_KINDS, event_for, slots

POINTER = {"id": CUT + " (selengkapnya: cek status di smartdukcapil.serangkota.go.id)",
           "en": CUT + " (in full: status lookup at smartdukcapil.serangkota.go.id)"}
NOTE_LINES = ("Foto KK terpotong di bagian bawah.\n\tMohon foto ulang     seluruh halaman KK "
              "di tempat yang terang.\r\n")
LONG_NOTE = (NOTE_LINES * 40)[:2000]


def body(params: tuple[str, ...]) -> dict:
    """A send request's template as the sandbox checks it."""
    return {"template": {"components": [{"type": "body", "parameters": [
        {"type": "text", "text": text} for text in params]}]}}


def assert_meta_takes(params: tuple[str, ...]) -> None:
    for text in params:
        assert text and text == " ".join(text.split()), repr(text)
    assert sum(len(text) for text in params) <= WHATSAPP_PARAMS_ROOM
    assert parameters_refused(body(params)) is None


def every_reason(document_type: str = "ktp_el") -> list[str]:
    return [reason.code for reason in CATALOGUE
            if reason.document_types is None or document_type in reason.document_types]


def rejection(lang: str, note: str | None = LONG_NOTE, document_type: str = "ktp_el") -> dict:
    codes = every_reason(document_type)
    return {"document_type": document_type, "tracking_code": "SDKWW8S55ZR",
            "reasons": reason_texts(codes, lang), "reason_codes": codes, "note": note}


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_every_reason_and_a_long_note_of_many_lines_fit_with_a_pointer_to_the_rest(
        lang, document_type):
    doc, code, reasons_text = render("rejected", rejection(lang, document_type=document_type),
                                     lang).whatsapp
    assert_meta_takes((doc, code, reasons_text))
    assert code == "SDKWW8S55ZR"
    assert reasons_text.startswith(reason_texts(every_reason(document_type), lang)[0])
    assert reasons_text.endswith(POINTER[lang])
    assert len(reasons_text) > 500  # the room is used, not thrown away


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_long_note_after_a_few_reasons_is_cut_at_a_word_end(lang):
    event = dict(rejection(lang), reasons=reason_texts(["kk_unreadable"], lang),
                 reason_codes=["kk_unreadable"])
    reasons_text = render("rejected", event, lang).whatsapp[2]
    assert_meta_takes(("KTP-el", "SDKWW8S55ZR", reasons_text))
    kept = reasons_text.removesuffix(POINTER[lang])
    whole = values_for("rejected", event, lang)["reasons_text"]
    assert whole.startswith(kept) and whole[len(kept)] in " ."  # no half word
    assert "Foto KK terpotong di bagian bawah. Mohon foto ulang seluruh halaman" in kept


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", CITIZEN_KINDS)
def test_every_notice_s_parameters_are_one_line_whatever_the_event_holds(kind, lang):
    """Place names and addresses, barcodes, names: newlines, tabs, runs of
    spaces and a place name of 2,000 characters."""
    messy = [{"place": "Kantor Kecamatan\nCurug", "address": "Jl. Raya Curug\tNo. 1"},
             {"place": "Kantor      Kelurahan  Sukajaya ", "address": " "},
             {"place": "Kantor Kelurahan " + "Sukajaya " * 250, "address": "Jl. Raya"}]
    for slot in messy:
        event = dict(event_for(kind, slot, "ktp_el"), barcode="P2609\n301234567",
                     full_name="Siti\nAminah", note="Mohon\n\nunggah ulang")
        params = render(kind, event, lang).whatsapp
        assert len(params) == len(WHATSAPP_PARAMS[kind])
        assert_meta_takes(params)


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", CITIZEN_KINDS)
def test_ordinary_notices_keep_their_parameters_whole(kind, lang):
    for slot in slots():
        event = event_for(kind, slot, "ktp_el")
        values = values_for(kind, event, lang)
        assert render(kind, event, lang).whatsapp == tuple(
            str(values[name]) for name in WHATSAPP_PARAMS.get(kind, ()))


def test_one_line_and_cut():
    assert one_line("Kantor\r\nKelurahan\t\tSukajaya     Baru ") == "Kantor Kelurahan Sukajaya Baru"
    assert one_line(None) == one_line("") == one_line(" \n ") == "-"  # Meta refuses an empty one
    assert cut("Foto KK buram", 20) == "Foto KK buram"
    assert cut("Foto KK buram sekali, mohon ulang", 20) == "Foto KK buram" + CUT
    assert cut("x" * 50, 20) == "x" * 19 + CUT  # no word end: cut inside it
    assert len(cut("Foto KK buram sekali, mohon ulang", 30, POINTER["id"])) <= 30


def test_the_webhook_page_names_every_template_to_have_approved():
    """A template Meta does not have is refused (132001): whoever releases a
    new notice reads there which to submit."""
    page = (Path(__file__).parents[2] / "docs" / "whatsapp-webhook.md").read_text()
    for kind in WHATSAPP_PARAMS:
        assert f"`smartdukcapil_{kind}`" in page, kind
