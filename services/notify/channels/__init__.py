"""Delivery channels: each builds its service's documented request and raises ChannelError on refusal."""
