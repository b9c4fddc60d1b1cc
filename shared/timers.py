"""A nameko timer whose interval a setting may change."""

from __future__ import annotations

from nameko.timer import Timer

from shared.settings import seconds


class ConfiguredTimer(Timer):
    """nameko's timer, its interval from config (``setting``), if set."""

    def __init__(self, interval, setting: str, **kwargs):
        super().__init__(interval, **kwargs)
        self.setting = setting

    def setup(self):
        self.interval = seconds(self.container.config, self.setting, self.interval, positive=True)
