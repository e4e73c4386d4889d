"""HTTP route handlers of the read API; each module is one Litestar Controller."""
