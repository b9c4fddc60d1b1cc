"""The local stack: everything Smartdukcapil needs, on one machine.

    python -m deploy.local.stack run      # start all, print addresses, Ctrl-C stops all
    python -m deploy.local.stack broker   # only make sure RabbitMQ answers

Starts (each as its own process group, stopped together on Ctrl-C/SIGTERM):
a MongoDB-wire-compatible server (SecantusDB, on disk with every commit
journaled) unless MONGO_URI is set, a local SMTP server that keeps what it
receives (aiosmtpd, Maildir), the SMS gateway, Pos Indonesia, population
register and WhatsApp sandboxes, the broker topology, and the four services (``nameko
run``). RabbitMQ is expected on 127.0.0.1:5672; if nothing answers it is
started (``rabbitmq-server -detached``), installed first with apt-get when
missing.

``run`` supervises what it started, as a production supervisor would: a
process that dies, or a service that stops answering ``/health/live``, is
restarted with the same arguments (the database on the same data) after a
growing delay, and the console and the process's log say so; everything
stops on Ctrl-C/SIGTERM, when a part does not start (why, from its log, on
the console), or when one process keeps dying (``deploy/local/supervisor.py``). The tests use the same class with free ports and a virtual
host of their own; the fault tests supervise it too.
"""

from __future__ import annotations

import argparse
import os
import pwd
import random
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from deploy.broker import LOCAL_BROKER_PORT, broker_address
from deploy.local.supervisor import GaveUp, Supervisor
from deploy.registry import ROOT, SERVICES, config_path
from services.printing.tokens import generate, signing_key_setting
from shared.stopping import DEFAULT_STOP_DRAIN_SECONDS


def die_with_parent() -> None:
    """Runs in each child before exec: if the launcher dies (even by SIGKILL),
    the kernel sends the child SIGTERM, so no server outlives its stack."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: Stack.stop() still stops everything on a normal exit


# What a citizen's submit or status lookup waits on, on a machine that runs
# the whole stack: intake, the database server holding intake's database
# (every service's, with one server for all) and the population register it
# asks. Everything else - printing, notification, courier, their database
# servers, SMTP and the partners' stand-ins - works behind the citizen's
# answer, through queues that absorb a wait.
CITIZENS_PATH = frozenset({"intake", "mongodb", "register"})

# ``LOCAL_BACKGROUND_NICE``: how much lower than the citizens' path the rest
# runs (0-19; 0: all alike), for ``make run`` and the benchmarks
DEFAULT_BACKGROUND_NICE = 10


def background_nice_setting() -> int:
    """``LOCAL_BACKGROUND_NICE`` from the environment (default 10); a
    ``NotStarted`` naming it when it is not a whole number 0-19."""
    text = os.environ.get("LOCAL_BACKGROUND_NICE", str(DEFAULT_BACKGROUND_NICE)).strip()
    if not text.isdigit() or int(text) > 19:
        raise NotStarted(f"LOCAL_BACKGROUND_NICE={text!r}: expected a whole number 0-19")
    return int(text)


def lower_priority(nice: int) -> None:
    """Runs in a child before exec (after ``setsid``): the process, and its
    session's scheduling group, ``nice`` steps down. With the kernel's
    autogroup on (Debian's default), every session is a group the scheduler
    shares the cores between equally, whatever its processes' nice values -
    each part of the stack is a session of its own, so only the group's
    nice (``/proc/self/autogroup``) weighs against the others; the process's
    own nice does where autogroup is off. Only ever lowers: no privilege
    needed."""
    try:
        with open("/proc/self/autogroup", "w") as group:
            group.write(str(nice))
    except OSError:
        pass  # no autogroup here: the process's nice below is what counts
    os.nice(nice)


# Below Linux's ephemeral range (32768-60999): a port bound with port 0 and
# released comes from that range, where the kernel may hand it to an outgoing
# connection, or to another test run doing the same, before our server binds it.
# ``LOCAL_FREE_PORTS`` ("first-last") narrows it: the suite's lanes run at
# once, each in a range of its own (tests/sessions.py).
FIRST_PORT, LAST_PORT = (int(port) for port in
                         os.environ.get("LOCAL_FREE_PORTS", "20000-32767").split("-"))
FREE_PORTS = range(FIRST_PORT, LAST_PORT + 1)


# how long a stopping process is waited for before it is killed: a service's
# drain of its requests in flight (``STOP_DRAIN_SECONDS``, docs/api.md
# "Stopping") and its workers' end (a review: killed at 15 s, within the 20 s
# the drain is promised)
STOP_SECONDS = DEFAULT_STOP_DRAIN_SECONDS + 10.0


def without_password(uri: str) -> str:
    """``uri`` as printed: its password, if it has one, as ``***`` (a review:
    ``make run`` with ``AMQP_URI``/``MONGO_URI`` of real users printed them)."""
    scheme, sep, rest = uri.partition("://")
    authority, slash, path = rest.partition("/")
    credentials, at, hosts = authority.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return uri
    return f"{scheme}://{credentials.partition(':')[0]}:***@{hosts}{slash}{path}"


def free_port() -> int:
    """A port nothing is bound to now, picked at random outside the ephemeral range."""
    for port in random.sample(FREE_PORTS, 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {FREE_PORTS}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class NotStarted(RuntimeError):
    """A part of the stack did not start: ``run`` stops the rest and says
    why in a line, not a traceback."""


def wait_until(check, what: str, timeout: float = 60.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise NotStarted(f"{what} exited with code {proc.returncode}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise NotStarted(f"{what} did not become ready within {timeout:.0f}s")


def last_lines(path: Path, count: int = 3, most: int = 64 * 1024, since: int = 0) -> list[str]:
    """The last ``count`` lines of the log ``path`` that say something (of
    its last ``most`` bytes, none before offset ``since``); none if it
    cannot be read."""
    try:
        with open(path, "rb") as log:
            log.seek(max(since, log.seek(0, os.SEEK_END) - most))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()][-count:]


def ensure_rabbitmq(host: str = "127.0.0.1", port: int = LOCAL_BROKER_PORT) -> None:
    """Make sure a broker answers at ``host:port``; start (or install and
    start) one if not - on this machine's 5672 only, where one it starts
    listens: for another address (``AMQP_URI`` naming a broker elsewhere, or
    another port) one that does not answer is an error naming it (outside
    audit K: 5672 was checked whatever ``AMQP_URI`` named)."""
    if port_open(port, host):
        return
    if host not in ("127.0.0.1", "localhost", "::1") or port != LOCAL_BROKER_PORT:
        raise NotStarted(f"no broker answers at {host}:{port} (AMQP_URI); a broker is "
                           f"started here only for 127.0.0.1:{LOCAL_BROKER_PORT}")
    if shutil.which("rabbitmq-server") is None:
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            raise NotStarted("RabbitMQ is not running on 5672 and cannot be installed here")
        print("installing rabbitmq-server (apt-get) ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "rabbitmq-server"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    print("starting rabbitmq-server ...", flush=True)
    subprocess.run(broker_command(), check=False, cwd=BROKER_HOME if os.geteuid() == 0 else None,
                   preexec_fn=most_open_files)
    wait_until(lambda: port_open(port, host), "RabbitMQ", timeout=90)


BROKER_HOME = "/var/lib/rabbitmq"  # Debian's rabbitmq user's home: its Erlang cookie


def broker_command() -> list[str]:
    """How to start the local broker. Run by root, Debian's
    ``rabbitmq-server`` switches to the rabbitmq user with ``su``, whose PAM
    session sets the open files back to 1,024 (measured) - too few for more
    than a few stacks on one broker: with five (~1,000 connections' sockets,
    most of them clients reconnecting) it ran out, stopped accepting
    connections and even ``rabbitmqctl``, and every service crash-looped
    (outside audit P1). So root starts it as that user directly
    (``setpriv``, no PAM session), keeping the limit ``most_open_files``
    sets; anyone else starts it as themselves."""
    if os.geteuid() == 0 and shutil.which("setpriv") and user_exists("rabbitmq"):
        return ["setpriv", "--reuid", "rabbitmq", "--regid", "rabbitmq", "--init-groups",
                "env", f"HOME={BROKER_HOME}", "rabbitmq-server", "-detached"]
    return ["rabbitmq-server", "-detached"]


def most_open_files() -> None:
    """Raise this process's open files to its hard limit (up to the 65,536
    RabbitMQ's production checklist asks for), inherited by the broker."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard if hard != resource.RLIM_INFINITY else 65536, 65536)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def rabbitmq_eval(expression: str) -> str | None:
    """An Erlang expression evaluated on the local broker; None if it cannot be."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return None
    try:
        done = subprocess.run([ctl, "eval", expression], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_file_handles(wanted: int) -> None:
    """Make sure the local broker's file handle cache allows ``wanted`` handles.

    Each stack's topology is ~120 quorum queues, which the cache counts as
    ~360 handles although they keep few files open (measured: 1,064 counted,
    56 open). A broker started with 1,024 open files (limit 927) is over it
    once a third stack's virtual host exists, and then every classic queue
    waits for a handle forever: the archive queues stop taking events and
    ``delete_vhost`` hangs. The test suite runs up to four stacks at once, so
    it raises the cache's limit on a broker started with the usual default
    (``rabbitmq-server`` run by root goes through ``su``, which sets 1,024
    again; ``broker_command`` avoids it), for the broker's run; a restart
    goes back to its own limit. The suite alone does not run out of the
    operating system's limit (the quorum queues' handles are mostly not open
    files, the suite holds ~25 connections), but other stacks on the same
    broker can: a broker with fewer than ``wanted`` open files is named.
    """
    ulimit = rabbitmq_eval("file_handle_cache:ulimit().")
    if ulimit is not None and ulimit.isdigit() and int(ulimit) < wanted:
        print(f"RabbitMQ has {ulimit} open files: other stacks on it may use them up "
              "(README: The broker's open files)", flush=True)
    limit = rabbitmq_eval("file_handle_cache:get_limit().")
    if limit is None or not limit.isdigit() or int(limit) >= wanted:
        return
    if rabbitmq_eval(f"file_handle_cache:set_limit({wanted}).") == "ok":
        print(f"RabbitMQ's file handle limit raised from {limit} to {wanted} for the tests "
              "(it was started with too few open files: README)", flush=True)
    else:
        print(f"RabbitMQ's file handle limit is {limit}: too low for the tests' stacks, "
              "and it could not be raised (README)", flush=True)


def ensure_vhost(vhost: str) -> bool:
    """Create a RabbitMQ virtual host for the tests; False if rabbitmqctl is unusable."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    added = subprocess.run([ctl, "add_vhost", vhost], capture_output=True)
    if added.returncode != 0 and b"already exists" not in added.stderr + added.stdout:
        return False
    perms = subprocess.run([ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                           capture_output=True)
    return perms.returncode == 0


# Development secrets for the local stack only (README "Try it"). The
# services' config files carry no secrets; production supplies its own.
DEV_SECRETS = {
    # hashes of `dev-operator-token` and `dev-station-token` (python -m shared.auth hash)
    "OPERATOR_TOKENS": "operator-dev:sha256:"
                       "277e6a75a6980887d1bc5c738e59a2504e3e2696d8f9fbf675b7fc49dabd2cf8",
    "STATION_TOKENS": "station-serang-1:sha256:"
                      "b5d7f8af47c044e57c692beaecd92273a55428b586e80075984b9e8b17053093",
    # `dev-kelurahan-token`: Kelurahan Sukajaya; `dev-kecamatan-token`: Kecamatan Curug
    "KELURAHAN_OFFICER_TOKENS": "officer-sukajaya@3673041010:sha256:"
                                "292b4617a80d9c6a897c3ebdbf5aa9cd67efb2fc8bf48b066a711757fedb1ec5",
    "KECAMATAN_OFFICER_TOKENS": "officer-curug@367304:sha256:"
                                "9cbc91beb7b8b4df5ce5adc082ca0fdd4cd32fd006f956cf18ceeab9d15017f7",
    # printing reads a KIA photo from intake with `dev-printing-service-token`
    "INTAKE_SERVICE_TOKEN": "dev-printing-service-token",
    "SERVICE_TOKENS": "printing:sha256:"
                      "ec43e1afccd2df9ca7edcb78de6e8eb9dcae589d0c751e71890cc5ad465143ec",
    # what the SMS and Pos sandboxes accept by default
    "SMS_USERKEY": "sandbox-user", "SMS_PASSKEY": "sandbox-pass",
    "POS_CLIENT_ID": "sandbox-client", "POS_CLIENT_SECRET": "sandbox-secret",
    "POS_WEBHOOK_SECRET": "sandbox-webhook-secret",
    "WHATSAPP_TOKEN": "sandbox-whatsapp-token", "WHATSAPP_PHONE_NUMBER_ID": "100200300",
    # the WhatsApp sandbox signs its status callbacks with this app secret;
    # the verify token answers Meta's handshake (docs/whatsapp-webhook.md)
    "WHATSAPP_APP_SECRET": "sandbox-whatsapp-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "sandbox-whatsapp-verify-token",
}
# the local stack's notification settings: no quiet hours, so a developer
# trying it at night still sees messages arrive (production: 21:00-06:00);
# officers' mailboxes of Kelurahan Sukajaya, Kecamatan Curug and the Dinas
DEV_SETTINGS = {
    "QUIET_HOURS": "off",
    "OFFICER_EMAILS": "3673041010=kelurahan.sukajaya@serangkota.go.id,"
                      "367304=kecamatan.curug@serangkota.go.id",
    "OPERATORS_EMAIL": "operator.disdukcapil@serangkota.go.id",
    "MAIL_FROM": "Smartdukcapil Kota Serang <noreply@smartdukcapil.local>",
    "MAIL_DOMAIN": "smartdukcapil.local",
}
# Python's process environment, under the operator's own: eventlet (0.33)
# imports ``distutils``, which setuptools' shim in the virtualenv answers by
# importing setuptools and pkg_resources - about half of a service's start-up
# CPU (intake 1.7-2.2 s -> 0.9-1.0 s with the standard library's distutils):
# a restart after a crash, ``make run``'s start, every stack of the tests
PROCESS_ENV = {"SETUPTOOLS_USE_DISTUTILS": "stdlib"}
# what the test suite's and the benchmarks' stacks add: they submit thousands
# of applications from 127.0.0.1 (``make run`` keeps the production limit,
# 20 an hour per client; the limit's own test sets a low one)
LOAD_TEST_SETTINGS = {"INTAKE_SUBMITS_PER_CLIENT": "1000000"}


@dataclass
class Ports:
    intake: int = 8001
    printing: int = 8002
    notification: int = 8003
    courier: int = 8004
    mongo: int = 27018
    smtp: int = 1025
    sms: int = 9001
    pos: int = 9002
    register: int = 9003
    whatsapp: int = 9004
    # with a database server per service: printing's, notification's and
    # courier's (intake's is ``mongo``)
    mongo_printing: int = 27019
    mongo_notification: int = 27020
    mongo_courier: int = 27021

    @classmethod
    def free(cls) -> "Ports":
        ports: list[int] = []
        while len(ports) < len(cls.__dataclass_fields__):
            if (port := free_port()) not in ports:  # each is released before the next pick
                ports.append(port)
        return cls(*ports)


def local_mongo_uri(port: int) -> str:
    """The local SecantusDB server's URI, with retryable writes off: the
    server keeps a record of every retryable write for 30 minutes (up to
    10,000) and scans them all - sorts them, once full - under one lock on
    each such write, so a busy system's writes slow from ~1,100/s to ~120/s
    within minutes (measured). Nothing here needs them: every write is
    idempotent or guarded (event ids, unique keys, conditional updates), so
    a write a network error interrupted fails and its message or request is
    retried. A real MongoDB keeps them (its MONGO_URI as given)."""
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


@dataclass
class Stack:
    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672//"
    mongo_uri: str | None = None
    mongo_in_memory: bool = False
    # a local database server for each service, each with only that
    # service's database, instead of one for all (``database_servers``)
    database_per_service: bool = False
    # service -> its MONGO_URI, when it differs from ``mongo_uri``
    service_mongo_uris: dict = field(default_factory=dict)
    extra_env: dict = field(default_factory=dict)
    procs: dict = field(default_factory=dict)
    # name -> (argv, env) as first started, so a restart is the same process
    commands: dict = field(default_factory=dict)
    # name -> where its log ended when it was last started: a log is appended
    # to, and what a process that did not start says is only what it wrote
    log_starts: dict = field(default_factory=dict)
    # the parts off the citizens' path (``CITIZENS_PATH``) run this much
    # lower (``lower_priority``): 0 - the test suite's stacks - all alike
    background_nice: int = 0

    @property
    def maildir(self) -> Path:
        return self.run_dir / "maildir"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{getattr(self.ports, name)}"

    def env(self) -> dict:
        """Environment the services read through their config.yaml."""
        # the operator's environment over the development settings (outside
        # audit P3: QUIET_HOURS=21:00-06:00 was silently replaced by "off"),
        # but not over the development secrets: the sandboxes and the README's
        # tokens are paired with them (outside audit R1: POS_CLIENT_SECRET
        # from the environment and every posting refused by the Pos sandbox)
        env = {**PROCESS_ENV, **DEV_SETTINGS, **os.environ, **DEV_SECRETS,
                "PYTHONPATH": str(ROOT),
                "AMQP_URI": self.amqp_uri,
                "INTAKE_ADDRESS": f"127.0.0.1:{self.ports.intake}",
                "PRINTING_ADDRESS": f"127.0.0.1:{self.ports.printing}",
                "NOTIFICATION_ADDRESS": f"127.0.0.1:{self.ports.notification}",
                "COURIER_ADDRESS": f"127.0.0.1:{self.ports.courier}",
                "SMS_GATEWAY_URL": self.url("sms"), "POS_API_URL": self.url("pos"),
                "REGISTER_URL": self.url("register"), "WHATSAPP_API_URL": self.url("whatsapp"),
                "INTAKE_URL": self.url("intake"), "VERIFY_SIGNING_KEY": self.signing_key(),
                "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.ports.smtp),
                **self.extra_env}
        if self.mongo_uri:
            env["MONGO_URI"] = self.mongo_uri
        return env

    def signing_key(self) -> str:
        """The QR signing key (``VERIFY_SIGNING_KEY``) of this run directory:
        made on first use and kept there, so a restarted stack still vouches
        for what it printed. Development only; production supplies its own."""
        path = self.run_dir / "verify-signing-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
                out.write(signing_key_setting(generate("dev-" + time.strftime("%Y%m%d"))))
        return path.read_text().strip()

    def log_path(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        """Start a process of the stack (its own process group, its log in
        ``logs/<name>.log``); ``env`` defaults to the services' environment."""
        self.commands[name] = (argv, env)
        return self.respawn(name)

    def respawn(self, name: str) -> subprocess.Popen:
        """Start ``name`` (again) exactly as it was first started: same
        arguments, same environment, the same data directory, its log appended to."""
        argv, env = self.commands[name]
        nice = 0 if name in CITIZENS_PATH else self.background_nice

        def before_exec() -> None:
            die_with_parent()
            if nice:
                lower_priority(nice)
        with open(self.log_path(name), "ab") as log:
            self.log_starts[name] = log.tell()
            proc = subprocess.Popen(argv, cwd=ROOT, env=env or self.env(), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=before_exec)
        self.procs[name] = proc
        return proc

    def send_signal(self, name: str, signum: int) -> None:
        """Send ``signum`` to the process group of ``name`` (kill -9, SIGSTOP ...)."""
        os.killpg(self.procs[name].pid, signum)

    def note(self, name: str, text: str) -> None:
        """A line in the log of ``name``, from the launcher rather than the process."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.log_path(name), "a") as log:
            log.write(f"{stamp} launcher: {text}\n")

    def ephemeral(self, name: str) -> bool:
        """True for a process whose data dies with it (an in-memory database)."""
        return name.startswith("mongodb") and self.mongo_in_memory

    def database_servers(self) -> dict[str, int]:
        """The local database servers to start: process name -> port. One
        (``mongodb``) for every service's database; or, with
        ``database_per_service``, one per service, each holding only that
        service's database (intake's is ``mongodb``). The local server
        (SecantusDB) is one Python process, so one server can use one core
        at most, however many services wait on it; MongoDB itself serves
        each database from its own threads. Each service owns its database
        (DESIGN.md), so each may as well have its own server."""
        if not self.database_per_service:
            return {"mongodb": self.ports.mongo}
        return {"mongodb" if service == "intake" else f"mongodb-{service}":
                getattr(self.ports, "mongo" if service == "intake" else f"mongo_{service}")
                for service in SERVICES}

    def database_command(self, name: str = "mongodb") -> list[str]:
        """The local MongoDB-wire server (SecantusDB) ``name``: in memory for
        the test suite, else on disk under the run directory, where a restart
        finds it."""
        argv = [sys.executable, "-m", "deploy.local.database", "--host", "127.0.0.1",
                "--port", str(self.database_servers()[name]), "--log-level", "WARNING"]
        if self.mongo_in_memory:
            return argv + ["--storage-path", ":memory:"]
        # fsync the journal on every commit: a write acknowledged to a client
        # (a 202) survives a kill -9 of the server. The server ignores j:true
        # on transaction commits; this is its own switch.
        data = "mongo-data" if name == "mongodb" else name.replace("mongodb", "mongo-data")
        return argv + ["--storage-path", str(self.run_dir / data), "--sync-on-commit"]

    def make_run_dir(self) -> None:
        """The run folder and its logs folder, the run folder readable by
        this user only: it holds the databases' files (every citizen's
        personal data), the mail, the signing key and the logs (outside
        audit: ``.run/mongo-data*`` was 755, its files 644)."""
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # one made before, by an earlier version, closed too - but not a
        # shared folder given as --run-dir (/tmp: the sticky bit), not ours
        if not self.run_dir.stat().st_mode & stat.S_ISVTX:
            self.run_dir.chmod(0o700)
        (self.run_dir / "logs").mkdir(exist_ok=True)

    def start_backing(self) -> None:
        """Broker check, database, SMTP, sandboxes and the broker topology."""
        self.make_run_dir()
        ensure_rabbitmq(*broker_address(self.amqp_uri))
        if self.mongo_uri is None:
            servers = self.database_servers()
            for name in servers:
                self.spawn(name, self.database_command(name))
            for name, port in servers.items():
                self.wait_for(name, lambda: port_open(port), f"MongoDB (SecantusDB) {name}")
            self.mongo_uri = local_mongo_uri(self.ports.mongo)
            self.service_mongo_uris = {
                service: local_mongo_uri(servers[f"mongodb-{service}"])
                for service in SERVICES if f"mongodb-{service}" in servers}
        self.spawn("smtp", [sys.executable, "-m", "aiosmtpd", "-n", "-l",
                            f"127.0.0.1:{self.ports.smtp}", "-c",
                            "aiosmtpd.handlers.Mailbox", str(self.maildir)])
        self.wait_for("smtp", lambda: port_open(self.ports.smtp), "SMTP server")
        for name, module in (("sms", "sms_gateway"), ("pos", "pos_api"),
                             ("register", "register"), ("whatsapp", "whatsapp")):
            self.spawn(name, [sys.executable, "-m", f"deploy.local.sandboxes.{module}",
                              "--host", "127.0.0.1", "--port", str(getattr(self.ports, name)),
                              *self.sandbox_options(name)])
            self.wait_for(name, lambda: port_open(getattr(self.ports, name)), f"{name} sandbox")
        self.declare_topology()

    def sandbox_options(self, name: str) -> list[str]:
        """A sandbox's options beyond its address: Pos tells courier's webhook
        (docs/courier-api.md) of each tracking event, signed with the secret
        courier checks, as Pos does - else a parcel advanced to DELIVERED stays
        ``dispatched`` until courier polls after hours of quiet. WhatsApp
        tells notification's webhook (docs/whatsapp-webhook.md) how each
        message went, signed with the app secret notification checks, as
        Meta does - else a message WhatsApp could not deliver stays ``sent``
        and its notice never goes by SMS or e-mail."""
        if name == "pos":  # its parcels kept with the stack's data (``ShipmentStore``)
            return ["--webhook-url", f"{self.url('courier')}/api/v1/pos/webhook",
                    "--webhook-secret", self.env()["POS_WEBHOOK_SECRET"],
                    "--journal", str(self.run_dir / "pos-sandbox.jsonl")]
        if name == "whatsapp":
            return ["--webhook-url", f"{self.url('notification')}/api/v1/whatsapp/webhook",
                    "--app-secret", self.env()["WHATSAPP_APP_SECRET"]]
        return []

    def declare_topology(self) -> None:
        """Run the deploy step ``python -m deploy.topology`` with the services'
        environment, so it reads their config.yaml exactly as they will.
        ``NotStarted`` if it fails: it has said why on stderr, in one line
        (it waits for a broker that does not answer yet: ``deploy/broker.py``)."""
        done = subprocess.run([sys.executable, "-m", "deploy.topology"], cwd=ROOT,
                              env=self.env(), stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise NotStarted(f"python -m deploy.topology exited with code {done.returncode} "
                             "(why: the line above)")

    def start_services(self, names=SERVICES) -> None:
        self.make_run_dir()
        nameko = str(Path(sys.executable).parent / "nameko")
        for name in names:
            env = self.env()
            if name in self.service_mongo_uris:
                env["MONGO_URI"] = self.service_mongo_uris[name]
            self.spawn(name, [nameko, "run", "--config", str(config_path(name)), *SERVICES[name]],
                       env)
        for name in names:
            self.wait_for(name, lambda: requests.get(self.url(name) + "/health", timeout=2).ok,
                          f"service {name}", timeout=90)

    def wait_for(self, name: str, check, what: str, timeout: float = 60.0) -> None:
        """``wait_until`` the process ``name`` is ready; ``NotStarted`` with
        the last lines of its log, and where that log is, if it exits or is
        not ready in time (outside review: ``make run`` said only that intake
        exited with code 1, in a traceback; why - a setting it refused - was
        in a log the console did not name)."""
        try:
            wait_until(check, what, timeout, proc=self.procs[name])
        except NotStarted as failed:
            lines = last_lines(self.log_path(name), since=self.log_starts.get(name, 0))
            said = "".join(f"\n    {line}" for line in lines)
            raise NotStarted(f"{failed}; the last lines of its log, "
                             f"{self.log_path(name)}:{said or ' (none)'}") from None

    def stop_processes(self, names, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM each process group at once, then wait; SIGKILL what lingers."""
        procs = {name: self.procs.pop(name) for name in names if name in self.procs}
        for name, proc in procs.items():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for name, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in {timeout:.0f}s: killing it", flush=True)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop(self) -> None:
        # services first (they finish in-flight work and ack), backing servers last
        self.stop_processes([name for name in SERVICES if name in self.procs])
        self.stop_processes(list(self.procs))

    def describe(self) -> str:
        databases = [("MongoDB", self.mongo_uri)]
        if self.service_mongo_uris:
            databases = [(f"MongoDB of {service}", self.service_mongo_uris.get(service,
                                                                             self.mongo_uri))
                         for service in SERVICES]
        databases = [(what, without_password(uri)) for what, uri in databases]
        rows = [("RabbitMQ", without_password(self.amqp_uri.replace("guest:guest@", ""))),
                *databases,
                ("SMTP (Maildir " + str(self.maildir) + ")", f"smtp://127.0.0.1:{self.ports.smtp}"),
                ("SMS gateway sandbox", self.url("sms")), ("Pos Indonesia sandbox", self.url("pos")),
                ("Population register sandbox", self.url("register")),
                ("WhatsApp Cloud API sandbox", self.url("whatsapp"))]
        rows += [(f"service {name}", self.url(name)) for name in SERVICES if name in self.procs]
        return "\n".join(f"  {label:<45} {where}" for label, where in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Smartdukcapil local stack")
    parser.add_argument("command", choices=("run", "broker"))
    parser.add_argument("--run-dir", default=str(ROOT / ".run"))
    args = parser.parse_args()
    if args.command == "broker":
        ensure_rabbitmq(*broker_address(os.environ.get("AMQP_URI", Stack.amqp_uri)))
        return
    try:
        background_nice = background_nice_setting()
    except NotStarted as refused:
        sys.exit(f"not started: {refused}")
    sys.exit(run(Stack(Path(args.run_dir), mongo_uri=os.environ.get("MONGO_URI") or None,
                       amqp_uri=os.environ.get("AMQP_URI", Stack.amqp_uri),
                       database_per_service=True, background_nice=background_nice)))


def run(stack: Stack) -> int:
    """Start ``stack`` and supervise it until Ctrl-C/SIGTERM (exit status 0)
    or until a part of it does not start or keeps dying (1, said in a few
    lines, no traceback); everything is stopped either way."""
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    # explicit for both: a shell may start us with SIGINT ignored (background job)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failed = False
    try:
        stack.start_backing()
        stack.start_services()
        print("Smartdukcapil is running:\n" + stack.describe(), flush=True)
        print(f"  logs: {stack.run_dir / 'logs'}    Ctrl-C stops everything; "
              "a process that dies is restarted.", flush=True)
        supervisor = Supervisor(stack, say=lambda text: print(text, flush=True))
        while True:
            supervisor.check()
            time.sleep(0.5)
    except (GaveUp, NotStarted) as exc:
        print(f"stopping everything: {exc}", flush=True)
        failed = True
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        print("stopped.", flush=True)
    return 1 if failed else 0

if __name__ == "__main__":
    main()
