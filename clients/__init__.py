"""Programs that run outside the Dinas' services and talk to their APIs."""
