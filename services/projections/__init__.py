"""projections service."""
