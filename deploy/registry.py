"""The one list of Smartdukcapil's services: name -> its nameko service classes
(an HTTP API container and, where it listens to events, an event-handling
container: one ``nameko run`` hosts both, each with its own worker pool), and
each service's own ``config.yaml`` read exactly as ``nameko run`` reads it
(``${ENV_VAR:default}`` substituted from the environment).

The launcher starts what is listed here; the topology command declares the
queues of what is listed here, with each service's own settings.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from nameko.cli.main import setup_yaml_parser

ROOT = Path(__file__).resolve().parents[1]

SERVICES = {
    "intake": ("services.intake.service:IntakeApi", "services.intake.service:IntakeEvents",
               "services.intake.channel:IntakeChannel"),
    "printing": ("services.printing.service:PrintingApi",
                 "services.printing.service:PrintingEvents"),
    "notification": ("services.notification.service:NotificationApi",
                     "services.notification.service:NotificationEvents"),
    "courier": ("services.courier.service:CourierApi", "services.courier.service:CourierEvents"),
}


def service_classes(name: str) -> list:
    classes = []
    for path in SERVICES[name]:
        module, _, attr = path.partition(":")
        classes.append(getattr(importlib.import_module(module), attr))
    return classes


def config_path(name: str) -> Path:
    return ROOT / "services" / name / "config.yaml"


def load_config(name: str) -> dict:
    """The service's config as ``nameko run --config`` would load it here."""
    setup_yaml_parser()
    with open(config_path(name)) as handle:
        return yaml.safe_load(handle)
