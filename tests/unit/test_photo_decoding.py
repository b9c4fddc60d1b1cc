"""A photo is decoded off the eventlet hub, a few at once: the hub goes on
answering other requests meanwhile, at intake's upload and at printing's
download of a KIA, whose photo is prepared for its card there (outside
audit: a 25-megapixel photo held printing's /health/live 0.35 s, 0.70 s at
four downloads at once). Real Pillow, real native threads; the
decode is held at a gate the test opens, so the order is the test's, not the
clock's (the gate's timeout only keeps the old, blocking code from hanging)."""

from __future__ import annotations

import io

import datetime

import eventlet
from eventlet import patcher
from PIL import Image

from services.intake import uploads
from services.intake.uploads import DEFAULT_LIMITS, check_file
from services.printing import api_documents, artefact, tokens, verification
from services.printing.domain import new_job
from shared import photos
from tests.unit.test_printing_artefact import pdf_image_pixels
from tests.unit.test_printing_details import verified

native = patcher.original("threading")
GUARD_SECONDS = 10  # a hub blocked by the decode waits this long, then fails


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buffer, "PNG")
    return buffer.getvalue()


class HeldDecodes:
    """``decode`` (intake's ``decoded_photo``) held until the gate opens,
    counting those inside."""

    def __init__(self, decode=photos.decoded_photo):
        self.decode = decode
        self.gate, self.lock = native.Event(), native.Lock()
        self.entered = native.Semaphore(0)
        self.inside = self.most_inside = 0
        self.order = []

    def __call__(self, content: bytes, *args: int) -> bytes:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.entered.release()
        self.gate.wait(GUARD_SECONDS)
        try:
            self.order.append("decoded")
            return self.decode(content, *args)
        finally:
            with self.lock:
                self.inside -= 1


def another_request(order: list) -> None:
    """A request and its answer over a socket, all through the hub."""
    with eventlet.listen(("127.0.0.1", 0)) as server:
        with eventlet.connect(server.getsockname()) as client:
            answering, _ = server.accept()
            with answering:
                client.sendall(b"GET /health/live")
                answering.sendall(answering.recv(64).replace(b"GET", b"200"))
                assert client.recv(64) == b"200 /health/live"
    order.append("answered")


def test_the_hub_answers_another_request_while_a_photo_decodes(monkeypatch):
    held = HeldDecodes()
    monkeypatch.setattr(uploads, "decoded_photo", held)
    upload = eventlet.spawn(check_file, photo(), DEFAULT_LIMITS, "foto")
    other = eventlet.spawn(another_request, held.order)
    other.wait()
    held.gate.set()
    checked = upload.wait()
    assert held.order == ["answered", "decoded"]
    assert (checked.width, checked.height) == (64, 48)


def test_at_most_decodes_at_once_run_together(monkeypatch):
    held = HeldDecodes()
    monkeypatch.setattr(uploads, "decoded_photo", held)
    content = photo()
    many = photos.DECODES_AT_ONCE + 2
    decodes = [eventlet.spawn(check_file, content, DEFAULT_LIMITS, "foto") for _ in range(many)]
    eventlet.sleep(0)  # each runs up to its decode, or up to the queue for one
    for _ in range(photos.DECODES_AT_ONCE):
        assert held.entered.acquire(timeout=GUARD_SECONDS)
    eventlet.sleep(0)
    assert held.inside == photos.DECODES_AT_ONCE
    held.gate.set()
    assert all(decode.wait().width == 64 for decode in decodes)
    assert held.most_inside == photos.DECODES_AT_ONCE
    assert held.order == ["decoded"] * many


def test_printing_answers_another_request_while_a_kia_photo_is_prepared(monkeypatch):
    held = HeldDecodes(photos.card_photo)
    monkeypatch.setattr(api_documents, "card_photo", held)
    now = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
    job, _ = new_job(verified("kia", holder_name="Rizki Ramadhan", holder_nik="3673041505190002"),
                     now)
    issuance = verification.new_issuance(job, "lease-1", verification.document_number(
        "kia", 2026, 7), tokens.generate("test"), now.date(), now)
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1600), "blue").save(buffer, "JPEG")
    download = eventlet.spawn(api_documents.printed_pdf, job, issuance, buffer.getvalue())
    other = eventlet.spawn(another_request, held.order)
    other.wait()
    held.gate.set()
    printed = download.wait()
    assert held.order == ["answered", "decoded"]
    assert pdf_image_pixels(printed) == [(496, artefact.CARD_PHOTO_PIXELS)]
