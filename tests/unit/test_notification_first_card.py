"""A kecamatan's next-day request is a first KTP-el (intake takes no
other): its citizen, told to collect it at the kecamatan office, is not
asked to bring the KTP-el they do not have yet - the family card (KK) is
what they bring. A kelurahan's jemput-bola documents keep "KTP-el or KK"."""

from __future__ import annotations

import pytest

from services.notification.domain import notices_for
from services.notification.gsm7 import septets
from tests.unit.test_notification_office_pickup import (LONGEST_KECAMATAN, book, kecamatan_list,
                                                        manifest, officers)

BRING = {"id": ("& KK.", "bawa Kartu Keluarga (KK) Anda."),
         "en": ("& KK.", "bring your family card (KK).")}


def citizen_texts(event_type: str, event: dict, lang: str) -> tuple[str, str]:
    *_, citizen = notices_for(event_type, event, book(lang), officers)
    sms, email = citizen.messages()
    return sms.text, email.text


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_next_day_ktp_el_at_the_kecamatan_asks_for_the_kk_not_a_ktp_el(lang):
    for event in (kecamatan_list(), kecamatan_list(LONGEST_KECAMATAN)):
        sms, email = citizen_texts("kecamatan_handover_ready", event, lang)
        assert "KTP-el/KK" not in sms and "KTP-el atau" not in email and "KTP-el or" not in email
        assert septets(sms) <= 160, sms
        assert BRING[lang][1] in email, email
    sms, _ = citizen_texts("kecamatan_handover_ready", kecamatan_list(), lang)
    assert sms.endswith(BRING[lang][0]), sms


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_jemput_bola_document_at_the_kelurahan_keeps_ktp_el_or_kk(lang):
    sms, email = citizen_texts("batch_ready_for_kelurahan", manifest(), lang)
    assert sms.endswith("KTP-el/KK."), sms
    assert {"id": "bawa KTP-el atau Kartu Keluarga (KK) Anda.",
            "en": "bring your KTP-el or family card (KK)."}[lang] in email
