"""Numpy-only decisions: distances, aggregation over references, calibration, verdict, metrics."""
