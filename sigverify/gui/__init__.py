"""The desktop app: the ONLY place that imports Qt."""
