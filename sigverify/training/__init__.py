"""Training: the only place that imports torch. Datasets, model, losses, miners, loop, export."""
