from .client import ChannelClient, Reply, ReplyTimeout

__all__ = ["ChannelClient", "Reply", "ReplyTimeout"]
