"""The local stack: everything Smartdukcapil needs, on one machine.

    python -m deploy.local.stack run      # start all, print addresses, Ctrl-C stops all
    python -m deploy.local.stack broker   # only make sure RabbitMQ answers

Starts (each as its own process group, stopped together on Ctrl-C/SIGTERM):
a MongoDB-wire-compatible server (SecantusDB) unless MONGO_URI is set, a
local SMTP server that keeps what it receives (aiosmtpd, Maildir), the SMS
gateway and Pos Indonesia sandboxes, the broker topology, and the four
services (``nameko run``). RabbitMQ is expected on 127.0.0.1:5672; if nothing
answers it is started (``rabbitmq-server -detached``), installed first with
apt-get when missing. The tests use the same class with free ports and a
virtual host of their own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from deploy.registry import ROOT, SERVICES, config_path


def die_with_parent() -> None:
    """Runs in each child before exec: if the launcher dies (even by SIGKILL),
    the kernel sends the child SIGTERM, so no server outlives its stack."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: Stack.stop() still stops everything on a normal exit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(check, what: str, timeout: float = 60.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


def ensure_rabbitmq(host: str = "127.0.0.1", port: int = 5672) -> None:
    """Make sure a broker answers; start (or install and start) one if not."""
    if port_open(port, host):
        return
    if shutil.which("rabbitmq-server") is None:
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            raise RuntimeError("RabbitMQ is not running on 5672 and cannot be installed here")
        print("installing rabbitmq-server (apt-get) ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "rabbitmq-server"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    print("starting rabbitmq-server ...", flush=True)
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    wait_until(lambda: port_open(port, host), "RabbitMQ", timeout=90)


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
    "OPERATOR_TOKENS": "operator-dev:dev-operator-token",
    "STATION_TOKENS": "station-serang-1:dev-station-token",
    "SMS_USERKEY": "sandbox-user", "SMS_PASSKEY": "sandbox-pass",
    "POS_CLIENT_ID": "sandbox-client", "POS_CLIENT_SECRET": "sandbox-secret",
}


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

    @classmethod
    def free(cls) -> "Ports":
        return cls(**{name: free_port() for name in cls.__dataclass_fields__})


@dataclass
class Stack:
    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672//"
    mongo_uri: str | None = None
    mongo_in_memory: bool = False
    extra_env: dict = field(default_factory=dict)
    procs: dict = field(default_factory=dict)

    @property
    def maildir(self) -> Path:
        return self.run_dir / "maildir"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{getattr(self.ports, name)}"

    def env(self) -> dict:
        """Environment the services read through their config.yaml."""
        env = {**os.environ, **DEV_SECRETS, "PYTHONPATH": str(ROOT), "AMQP_URI": self.amqp_uri,
                "INTAKE_ADDRESS": f"127.0.0.1:{self.ports.intake}",
                "PRINTING_ADDRESS": f"127.0.0.1:{self.ports.printing}",
                "NOTIFICATION_ADDRESS": f"127.0.0.1:{self.ports.notification}",
                "COURIER_ADDRESS": f"127.0.0.1:{self.ports.courier}",
                "SMS_GATEWAY_URL": self.url("sms"), "POS_API_URL": self.url("pos"),
                "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.ports.smtp),
                **self.extra_env}
        if self.mongo_uri:
            env["MONGO_URI"] = self.mongo_uri
        return env

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.run_dir / "logs" / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env or self.env(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent)
        self.procs[name] = proc
        return proc

    def start_backing(self) -> None:
        """Broker check, database, SMTP, sandboxes and the broker topology."""
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        ensure_rabbitmq()
        if self.mongo_uri is None:
            data = ":memory:" if self.mongo_in_memory else str(self.run_dir / "mongo-data")
            proc = self._spawn("mongodb", [str(Path(sys.executable).parent / "secantusd-py"),
                                           "--host", "127.0.0.1", "--port", str(self.ports.mongo),
                                           "--storage-path", data, "--log-level", "WARNING"])
            self.mongo_uri = f"mongodb://127.0.0.1:{self.ports.mongo}/?directConnection=true"
            wait_until(lambda: port_open(self.ports.mongo), "MongoDB (SecantusDB)", proc=proc)
        proc = self._spawn("smtp", [sys.executable, "-m", "aiosmtpd", "-n", "-l",
                                    f"127.0.0.1:{self.ports.smtp}", "-c",
                                    "aiosmtpd.handlers.Mailbox", str(self.maildir)])
        wait_until(lambda: port_open(self.ports.smtp), "SMTP server", proc=proc)
        for name, module in (("sms", "sms_gateway"), ("pos", "pos_api")):
            proc = self._spawn(name, [sys.executable, "-m", f"deploy.local.sandboxes.{module}",
                                      "--host", "127.0.0.1", "--port", str(getattr(self.ports, name))])
            wait_until(lambda: port_open(getattr(self.ports, name)), f"{name} sandbox", proc=proc)
        self.declare_topology()

    def declare_topology(self) -> None:
        """Run the deploy step ``python -m deploy.topology`` with the services'
        environment, so it reads their config.yaml exactly as they will."""
        subprocess.run([sys.executable, "-m", "deploy.topology"], cwd=ROOT, env=self.env(),
                       check=True, stdout=subprocess.DEVNULL)

    def start_services(self, names=SERVICES) -> None:
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        nameko = str(Path(sys.executable).parent / "nameko")
        for name in names:
            self._spawn(name, [nameko, "run", "--config", str(config_path(name)), *SERVICES[name]])
        for name in names:
            wait_until(lambda: requests.get(self.url(name) + "/health", timeout=2).ok,
                       f"service {name}", timeout=90, proc=self.procs[name])

    def stop_processes(self, names, timeout: float = 15.0) -> None:
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
        rows = [("RabbitMQ", self.amqp_uri.replace("guest:guest@", "")),
                ("MongoDB", self.mongo_uri), ("SMTP (Maildir " + str(self.maildir) + ")",
                                             f"smtp://127.0.0.1:{self.ports.smtp}"),
                ("SMS gateway sandbox", self.url("sms")), ("Pos Indonesia sandbox", self.url("pos"))]
        rows += [(f"service {name}", self.url(name)) for name in SERVICES if name in self.procs]
        return "\n".join(f"  {label:<45} {where}" for label, where in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Smartdukcapil local stack")
    parser.add_argument("command", choices=("run", "broker"))
    parser.add_argument("--run-dir", default=str(ROOT / ".run"))
    args = parser.parse_args()
    if args.command == "broker":
        ensure_rabbitmq()
        return
    stack = Stack(Path(args.run_dir), mongo_uri=os.environ.get("MONGO_URI") or None,
                  amqp_uri=os.environ.get("AMQP_URI", Stack.amqp_uri))
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    # explicit for both: a shell may start us with SIGINT ignored (background job)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start_backing()
        stack.start_services()
        print("Smartdukcapil is running:\n" + stack.describe(), flush=True)
        print(f"  logs: {stack.run_dir / 'logs'}    Ctrl-C stops everything.", flush=True)
        while all(proc.poll() is None for proc in stack.procs.values()):
            time.sleep(1)
        dead = [name for name, proc in stack.procs.items() if proc.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited (see logs)", flush=True)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
