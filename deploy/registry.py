"""The one list of Smartdukcapil's services: name -> nameko service class, and
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
    "intake": "services.intake.service:IntakeService",
    "printing": "services.printing.service:PrintingService",
    "notification": "services.notification.service:NotificationService",
    "courier": "services.courier.service:CourierService",
}


def service_class(name: str):
    module, _, attr = SERVICES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def config_path(name: str) -> Path:
    return ROOT / "services" / name / "config.yaml"


def load_config(name: str) -> dict:
    """The service's config as ``nameko run --config`` would load it here."""
    setup_yaml_parser()
    with open(config_path(name)) as handle:
        return yaml.safe_load(handle)
