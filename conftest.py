"""Root conftest: eventlet must patch the standard library before anything
imports sockets (nameko's pytest plugin no longer does it for us)."""

import eventlet

eventlet.monkey_patch()
