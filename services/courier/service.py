"""Courier: the Pos Indonesia delivery handoff (roadmap step 5).

For now it runs as its own service with its own database so the topology,
the launcher and the health checks cover it; dispatch (AddPostingDoc), the
signed tracking webhooks and polling come with the courier issue.
"""

from shared.http import api, json_response
from shared.mongo import MongoStore
from shared.store import BaseStore


class CourierService:
    name = "courier"

    store = MongoStore(BaseStore)

    @api("GET", "/health")
    def health(self, request):
        self.store.db.command("ping")
        return json_response(200, {"status": "ok", "service": self.name})
