"""Benchmarks, each run as a module: `.venv/bin/python -m bench.<name> --help` (see README.md)."""
