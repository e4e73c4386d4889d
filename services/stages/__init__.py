"""stages service."""
