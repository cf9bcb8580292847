"""What the window works with, opened off the UI thread: the store and the model."""

from __future__ import annotations

from pathlib import Path


def load_model(model_dir: Path, provider: str):
    from sigverify.inference.registry import load_engine

    return load_engine(model_dir, provider)


def open_store(location: str | None):
    """The store in a process of its own (store/remote.py: a dialog in this process must never be
    able to drop the database's locks)."""
    from sigverify.store.remote import RemoteStore

    return RemoteStore(location or None)
