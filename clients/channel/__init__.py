from .client import ChannelClient, ChannelUnavailable, Reply, ReplyTimeout, RequestNotQueued

__all__ = ["ChannelClient", "ChannelUnavailable", "Reply", "ReplyTimeout", "RequestNotQueued"]
