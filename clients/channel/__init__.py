from .client import (ChannelClient, ChannelRefused, ChannelUnavailable, Reply, ReplyTimeout,
                     RequestNotQueued)

__all__ = ["ChannelClient", "ChannelRefused", "ChannelUnavailable", "Reply", "ReplyTimeout",
           "RequestNotQueued"]
