"""An application's receipt promises only what the citizen is really told.

Notification is not told of a verification (``application_verified`` is
printing's and courier's): the receipt once said "we check it within 3
working days and send the result here", and a citizen whose print waited
days heard nothing after the promised three. It now says what does come -
a message if the application is refused (with what to fix), and when and
where the document is ready (or, by Pos, when it is sent) - and where the
status can be looked up at any time with the tracking code.
"""

from __future__ import annotations

import pytest

from services.notification.gsm7 import septets
from services.notification.messages import render
from shared.events import DOCUMENT_TYPES
from shared.offices import STATUS_SITE

# every tracking code is "SDK" and 8 characters (intake's new_tracking_code)
TRACKING_CODE = "SDKW7H3KQ9M"
NEVER_SENT = ("3 hari kerja", "3 working days", "hasilnya", "result")
# what comes next, in each receipt's SMS and e-mail
TOLD = {("received", "id"): (("ditolak", "bisa diambil"),
                             ("perlu diperbaiki", "siap diambil: kapan dan di mana")),
        ("received", "en"): (("refused", "ready"),
                             ("must be corrected", "when and where to collect it")),
        ("pos_received", "id"): (("ditolak", "dikirim Pos"),
                                 ("perlu diperbaiki", "dengan nomor resi Pos")),
        ("pos_received", "en"): (("refused", "Pos sends it"),
                                 ("must be corrected", "with its Pos tracking number"))}


@pytest.mark.parametrize(("kind", "lang"), sorted(TOLD))
def test_a_receipt_promises_what_comes_and_no_result_in_3_days(kind, lang):
    sms_says, email_says = TOLD[kind, lang]
    for document_type in DOCUMENT_TYPES:  # the longest name included: one SMS part
        texts = render(kind, {"document_type": document_type, "tracking_code": TRACKING_CODE,
                              "full_name": "Siti Aminah"}, lang)
        assert septets(texts.sms) <= 160, (len(texts.sms), texts.sms)
        assert TRACKING_CODE in texts.sms and STATUS_SITE in texts.sms, texts.sms
        assert all(words in texts.sms for words in sms_says), texts.sms
        # "siap diambil" is the ready notice's: the receipt saying it would
        # read as the document ready (and the end-to-end tests tell them so)
        assert "siap diambil" not in texts.sms, texts.sms
        assert all(words in texts.text for words in email_says), texts.text
        assert STATUS_SITE in texts.text and TRACKING_CODE in texts.text
        for text in (texts.sms, texts.subject, texts.text):
            assert not any(words in text.lower() for words in NEVER_SENT), text
