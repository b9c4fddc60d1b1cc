"""Root conftest: eventlet must patch the standard library before anything
imports sockets (nameko's pytest plugin no longer does it for us)."""

import os

# The tests talk to the broker with pika too, which passes keyword arguments
# to socket.getaddrinfo that eventlet 0.33's green resolver rejects; the tests
# only resolve 127.0.0.1, so the standard resolver costs nothing here.
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

import eventlet  # noqa: E402

eventlet.monkey_patch()

# a hung test stops the run, saying where (tests/watchdog.py)
pytest_plugins = ("tests.watchdog",)
