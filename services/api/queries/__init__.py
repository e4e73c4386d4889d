"""SQL of the read API: parameterised queries over one build's relations (see services.api.builds)."""
