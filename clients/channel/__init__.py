from .client import ChannelClient, ChannelUnavailable, Reply, ReplyTimeout

__all__ = ["ChannelClient", "ChannelUnavailable", "Reply", "ReplyTimeout"]
