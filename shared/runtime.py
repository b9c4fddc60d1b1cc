"""The service process' Python runtime, set once its containers start.

``FrozenStartupHeap``: with ``GC_FREEZE_AT_START`` set (every service's
config.yaml sets it), a container's start collects the garbage of start-up
once and then freezes what is left (``gc.freeze``): the modules, classes,
schemas and connections of a running service, some 110,000-150,000 objects
here. The collector's full passes then skip them. Measured (bench/README.md,
sixth session): intake's full collections took 30-70 ms each - every request
in the process waits meanwhile, one event loop - and 1.4-4.8 ms once frozen.
Off where the setting is absent (the in-process containers of the tests:
the test process' heap is not a service's).
"""

from __future__ import annotations

import gc
import logging

from nameko.extensions import SharedExtension

from .settings import flag

log = logging.getLogger(__name__)


class FrozenStartupHeap(SharedExtension):
    def start(self):
        if not flag(self.container.config, "GC_FREEZE_AT_START"):
            return
        gc.collect()
        gc.freeze()
        log.info("%s started: %d objects of start-up frozen for the collector",
                 self.container.service_name, gc.get_freeze_count())
