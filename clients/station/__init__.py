"""The reference printing-station agent: ``python -m clients.station --help``."""
