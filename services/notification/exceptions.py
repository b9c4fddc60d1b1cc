"""Notification's domain errors."""


class DeliveryFailed(Exception):
    """A channel could not take a message now; the event is retried later.

    The text names the channel's cause (``"smtp failed: ..."``), never the
    message or the address: it is stored in the delivery log and logged.
    """
