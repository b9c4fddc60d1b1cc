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
lacks, so one failed start lists them all. Under ``nameko run`` the services'
containers are ``CheckedContainer``s (``SERVICE_CONTAINER_CLS`` in each
config.yaml): the process checks every container's required settings once,
before any extension's setup, and a refusal ends it with one line, exit 1
(``shared.settings.MissingSettings: intake_api refuses to start: not
configured: ...``) instead of a traceback from every extension and container
that read the setting. The errors name keys, never a value.

Numbers are read with ``integer``, ``seconds`` and ``seconds_list``: a value
that is not one is ``InvalidSetting`` naming its key (``int()`` raised a
``ValueError`` that named neither the key nor the service).
"""

from __future__ import annotations

import datetime
import math
import os
import re
import sys
from urllib.parse import urlsplit

from amqp.exceptions import AccessRefused, NotAllowed
from eventlet.event import Event
from eventlet.hubs import get_hub
from kombu import Connection
from kombu.exceptions import OperationalError
from nameko.constants import MAX_WORKERS_CONFIG_KEY
from nameko.containers import ServiceContainer


class MissingSettings(RuntimeError):
    def __init__(self, service: str, keys: list[str]):
        super().__init__(
            f"{service} refuses to start: not configured: {', '.join(keys)} (the services'"
            " config.yaml has no defaults for credentials and partners' addresses: set them in"
            " the environment)")
        self.keys = keys


class InvalidSetting(RuntimeError):
    """A setting is there but cannot be used; ``why`` must not quote the value."""

    def __init__(self, key: str, why: str):
        super().__init__(f"refusing to start: {key}: {why}")
        self.key = key


class NotReachable(RuntimeError):
    """Something a service needs from its first moment - the broker, its
    database - does not answer while it starts: one line naming the setting
    that says where, not a traceback of 60 to 175 lines (outside audit P3).
    An ordinary condition for an operator: the supervisor starts it again."""

    def __init__(self, what: str, key: str, exc: BaseException):
        super().__init__(f"refusing to start: {what} ({key}) does not answer: "
                         f"{type(exc).__name__}")
        self.key = key


class BrokerRefused(NotReachable):
    """The broker answers and refuses us: wrong user or password, or a
    virtual host it does not have. One line, as when it does not answer -
    these escaped as amqp's traceback (outside review); no point waiting."""

    def __init__(self, exc: AccessRefused | NotAllowed):
        RuntimeError.__init__(self, f"refusing to start: the broker (AMQP_URI) refuses the "
                                    f"connection: {exc.reply_text} (check its user, "
                                    f"password and virtual host)")
        self.key, self.reply_text = "AMQP_URI", exc.reply_text


def reach_the_broker(config: dict) -> None:
    """Connect to the broker once before the extensions set up: a broker that
    does not answer is ``NotReachable`` here, in one line. Met first by the
    extensions' own set-up (greenthreads resumed by the refused socket),
    the error escaped each of them through eventlet's hub, which prints
    every such traceback whatever its settings."""
    amqp_uri = config.get("AMQP_URI")
    if blank(amqp_uri):
        return
    try:
        with Connection(str(amqp_uri), connect_timeout=10) as connection:
            connection.connect()
    except (AccessRefused, NotAllowed) as exc:
        raise BrokerRefused(exc) from None
    except (OperationalError, OSError) as exc:
        raise NotReachable("the broker", "AMQP_URI", exc) from None


def blank(value) -> bool:
    """``${KEY:}`` with KEY unset loads as "" (``!raw_env_var``) or None."""
    return not str(value if value is not None else "").strip()


ON, OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def flag(config: dict, key: str, default: bool = False) -> bool:
    """An on/off setting: on for 1, true, yes, on, off for 0, false, no, off
    (any case); ``default`` when unset or blank. Anything else is refused: a
    typo read as "off" turned ``SMTP_STARTTLS=maybe`` into a relay login in
    plain text (outside audit P3)."""
    value = config.get(key)
    if blank(value):
        return default
    word = str(value).strip().lower()
    if word not in ON + OFF:
        raise InvalidSetting(key, "expected on or off (true/false, yes/no, 1/0)")
    return word in ON


def integer(config: dict, key: str, default: int | None, minimum: int = 0,
            maximum: int | None = None) -> int | None:
    """A whole-number setting (a count, a size in bytes, milliseconds),
    ``minimum`` or more (0 unless said: an admission budget or a lease of 0
    would start a service that refuses or loses everything) and at most
    ``maximum`` if given (a duration past what a date can hold would fail
    every request using it, not the start); ``default`` when unset or blank."""
    value = config.get(key)
    if blank(value):
        return default
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum and (
            maximum is None or value <= maximum):
        return value
    raise InvalidSetting(key, f"expected a whole number, {minimum} or more" if maximum is None
                         else f"expected a whole number from {minimum} to {maximum}")


def whole_days(config: dict, key: str, default: int, minimum: int,
               why: str = "") -> datetime.timedelta:
    """A retention in whole days, at least ``minimum``; ``default`` when unset
    or blank; ``InvalidSetting`` naming ``key`` (and ``why`` the minimum)."""
    try:
        days = integer(config, key, default)
    except InvalidSetting:
        days = None
    if days is None or days < minimum:
        raise InvalidSetting(key, f"expected whole days, at least {minimum}"
                             + (f" ({why})" if why else ""))
    return datetime.timedelta(days=days)


def seconds(config: dict, key: str, default: float, positive: bool = False) -> float:
    """A duration in seconds (a timeout, a window, a pause), 0 or more - more
    than 0 if ``positive`` (a timer's interval: 0 runs it back to back, a
    core busy doing nothing) - with a fraction if need be; ``default`` when
    unset or blank."""
    value = config.get(key)
    if blank(value):
        return default
    parsed = _number(value)
    if parsed is None or (positive and parsed == 0):
        raise InvalidSetting(key, "expected a number of seconds, "
                                  + ("more than 0" if positive else "0 or more"))
    return parsed


def seconds_list(config: dict, key: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """Durations in seconds, 0 or more each (``RETRY_DELAYS``): a YAML list
    or comma-separated (``1,5,30``); ``default`` when unset."""
    value = config.get(key)
    if value is None:
        value = default
    parts = ([part for part in value.split(",") if part.strip()] if isinstance(value, str)
             else value if isinstance(value, (list, tuple)) else [value])
    parsed = [_number(part) for part in parts]
    if None in parsed:
        raise InvalidSetting(key, "expected comma-separated seconds, 0 or more each")
    return tuple(parsed)


def _number(value) -> float | None:
    """``value`` as a finite number of 0 or more, or None."""
    if isinstance(value, bool):
        return None
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    return parsed if math.isfinite(parsed) and parsed >= 0 else None


def missing_settings(container) -> set[str]:
    """The ``required_settings`` of the container's extensions it lacks."""
    return {key for extension in container.extensions
            for key in getattr(extension, "required_settings", ())
            if blank(container.config.get(key))}


def require(extension) -> list[str]:
    """The values of ``extension.required_settings``, as strings, in order;
    ``MissingSettings`` if any extension of its container lacks one."""
    container = extension.container
    config = container.config
    missing = missing_settings(container) | {key for key in extension.required_settings
                                             if blank(config.get(key))}
    if missing:
        raise MissingSettings(container.service_name, sorted(missing))
    values = [str(config[key]).strip() for key in extension.required_settings]
    for key, value in zip(extension.required_settings, values):
        if key.endswith("_URL") and not web_address(value):
            raise InvalidSetting(key, "expected an http:// or https:// address with a host")
    return values


def web_address(value: str) -> bool:
    """Whether ``value`` is a partner's address requests can use (a typo such
    as ``ftp//x`` started the service, and every call to the partner failed)."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def refuse(refused: MissingSettings | InvalidSetting | NotReachable):
    """End the process now, exit 1, with the refusal's one line. Not
    ``SystemExit``: the interpreter's exit would run the other containers'
    setups on (pymongo's exit handler waits on eventlet's hub), and they
    would refuse again, or connect."""
    line = str(refused)
    key = getattr(refused, "key", None)
    variable = key and environment_variable(key, config_file(sys.argv))
    if variable and variable != key:  # say what the operator set, not only the key
        line = line.replace(f" {key}", f" {key} (environment variable {variable})", 1)
    print(f"{type(refused).__module__}.{type(refused).__name__}: {line}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def refuse_from_setup(container, refused: InvalidSetting | NotReachable) -> None:
    """A refusal met in an extension's ``setup()``: under ``nameko run``
    (a ``CheckedContainer``) the process ends here, in one line. Raised
    instead, it escaped the set-up's greenthread - resumed by a socket, as
    every setup that talks to the broker is - through eventlet's hub, which
    prints each such traceback whatever its settings: one per handler queue
    (a DELIVERY_LIMIT the queues were not declared with: 61-121 lines,
    outside audit R1). Elsewhere (a test's container) it is raised."""
    if isinstance(container, CheckedContainer):
        refuse(refused)
    raise refused


def config_file(argv: list[str]) -> str | None:
    """The config file ``nameko run --config <file>`` was given, if any."""
    for at, arg in enumerate(argv):
        if arg == "--config" and at + 1 < len(argv):
            return argv[at + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def environment_variable(key: str, path: str | None) -> str | None:
    """The environment variable that sets ``key`` in a config.yaml
    (``KEY: ${VARIABLE:default}``), or None: the docs name both
    (docs/settings.md), a refusal read ``SUBMITS_PER_CLIENT`` where the
    operator had set ``INTAKE_SUBMITS_PER_CLIENT`` (outside audit P3)."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as config:
            text = config.read()
    except OSError:
        return None
    found = re.search(rf"^{re.escape(key)}:\s*(?:!raw_env_var\s+)?\$\{{(\w+)", text, re.MULTILINE)
    return found.group(1) if found else None


class CheckedContainer(ServiceContainer):
    """nameko's container, refusing a setting in one line (module docstring).

    Before its extensions' setup, each container checks the required
    settings of every container of the process (``nameko run`` hosts a
    service's two or three), so the refusal names all the process lacks; a
    value an extension's ``setup()`` cannot use (``InvalidSetting``) reaches
    ``start()`` through nameko. Either ends the process (``refuse``). While
    containers start, eventlet's hub does not print a failed setup's
    traceback as well: nameko raises it to ``start()``, and any other error
    goes on from there to ``nameko run``, traceback and all."""

    process: list[CheckedContainer] = []  # every container of this process
    starting = 0

    def __init__(self, service_cls, config):
        try:
            integer(config, MAX_WORKERS_CONFIG_KEY, None)  # nameko's own: a pool of that size
            # here, before any start: a start under way is one a stop waits for
            reach_the_broker(config)
        except (InvalidSetting, NotReachable) as refused:
            refuse(refused)
        super().__init__(service_cls, config)
        CheckedContainer.process.append(self)
        self.start_ended = Event()

    def start(self):
        hub = get_hub()
        CheckedContainer.starting += 1
        hub.debug_exceptions = False
        try:
            missing = set().union(*(missing_settings(container) for container in self.process))
            if missing:
                raise MissingSettings(self.service_name, sorted(missing))
            super().start()
        except (MissingSettings, InvalidSetting, NotReachable) as refused:
            refuse(refused)
        finally:
            CheckedContainer.starting -= 1
            hub.debug_exceptions = CheckedContainer.starting == 0
            self.start_ended.send()

    def stop(self):
        # ``nameko run`` starts a process' containers together and stops them
        # on SIGTERM whatever they are doing: one still starting (its
        # consumer not yet connected) had its entrypoints stopped, then
        # started its consumer, and the process never exited (measured: the
        # API answering ready, SIGTERM, still running 40 s later). Its stop
        # waits for its start to end.
        if self.started:
            self.start_ended.wait()
        super().stop()
