"""Embedded runtime: nats-server and Postgres from their wheels, and the process supervisor."""
