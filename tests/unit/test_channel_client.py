"""The channel client refuses a language intake does not answer in (audit B:
``lang="fr"`` was taken silently, and meant Bahasa Indonesia). No broker is
reached: the check comes before any connection."""

from __future__ import annotations

import pytest

from clients.channel import ChannelClient, ChannelUnavailable


@pytest.mark.parametrize("lang", ["fr", "EN", "", "id-ID"])
def test_a_language_intake_does_not_answer_in_is_refused(lang):
    with pytest.raises(ValueError, match="lang must be one of id, en"):
        ChannelClient("amqp://guest:guest@127.0.0.1:1/", "web", lang=lang)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_bahasa_and_english_are_taken(lang):
    # past the check: the client goes on to connect (to nothing here)
    with pytest.raises(ChannelUnavailable):
        ChannelClient("amqp://guest:guest@127.0.0.1:1/", "web", lang=lang)
