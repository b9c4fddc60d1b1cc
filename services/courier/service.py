"""Courier: the Pos Indonesia delivery handoff (roadmap step 5).

For now it runs as its own service with its own database so the topology,
the launcher and the health checks cover it; dispatch (AddPostingDoc), the
signed tracking webhooks and polling come with the courier issue.
"""

from shared.http import HealthCheck
from shared.mongo import StoreWithOutbox
from shared.store import BaseStore


class CourierApi(HealthCheck):
    name = "courier_api"

    store = StoreWithOutbox(BaseStore, publishes_as="courier")
