"""An e-mail as the SMTP server receives it says its language
(Content-Language), Bahasa Indonesia or English as the contact chose: set
before the body, the header was cleared with it and never left the service."""

from __future__ import annotations

import pytest

from tests.helpers import eventually
from tests.integration.test_notification_delivery import (citizen, mails_to, ready,
                                                          start_notification)


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_received_email_carries_content_language(backing, container_factory, language):
    start_notification(backing, container_factory)
    contact = dict(citizen(phone=False), language=language)
    ready(backing, contact)
    [mail] = eventually(lambda: mails_to(backing, contact["email"]), what="the e-mail")
    assert mail.get_all("Content-Language") == [language]
