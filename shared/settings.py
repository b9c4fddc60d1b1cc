"""Settings a service cannot run without, checked before it starts.

The services' config files carry no secret and no working credential
(``OPERATOR_TOKENS: !raw_env_var ${OPERATOR_TOKENS:}``): production supplies
them, the local stack supplies development ones (``deploy/local/stack.py``
``DEV_SECRETS``), the tests their own. An extension that needs some declares
them in ``required_settings`` and reads them with ``require(self)`` in its
``setup()``. nameko runs every extension's ``setup()`` before any ``start()``,
so a service missing one refuses to start before it opens a connection —
which matters: kombu reads a blank ``AMQP_URI`` as guest@localhost, pymongo a
blank ``MONGO_URI`` as localhost:27017.

Whichever extension checks first names every setting the whole container
lacks, so one failed start lists them all (``nameko run`` exits 1 with this
message, once per extension that checked). The errors name keys, never a value.
"""

from __future__ import annotations


class MissingSettings(RuntimeError):
    def __init__(self, service: str, keys: list[str]):
        super().__init__(
            f"{service} refuses to start: not configured: {', '.join(keys)} (the services'"
            " config.yaml has no defaults for credentials: set them in the environment)")
        self.keys = keys


class InvalidSetting(RuntimeError):
    """A setting is there but cannot be used; ``why`` must not quote the value."""

    def __init__(self, key: str, why: str):
        super().__init__(f"refusing to start: {key}: {why}")
        self.key = key


def blank(value) -> bool:
    """``${KEY:}`` with KEY unset loads as "" (``!raw_env_var``) or None."""
    return not str(value if value is not None else "").strip()


def flag(value) -> bool:
    """An on/off setting: on for 1, true, yes, on (any case)."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def require(extension) -> list[str]:
    """The values of ``extension.required_settings``, as strings, in order;
    ``MissingSettings`` if any extension of its container lacks one."""
    container = extension.container
    config = container.config
    wanted = {key for ext in container.extensions for key in getattr(ext, "required_settings", ())}
    missing = sorted(key for key in wanted | set(extension.required_settings)
                     if blank(config.get(key)))
    if missing:
        raise MissingSettings(container.service_name, missing)
    return [str(config[key]).strip() for key in extension.required_settings]
