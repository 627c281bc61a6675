"""Metrics and the harness that runs every scorer through the same protocols."""
