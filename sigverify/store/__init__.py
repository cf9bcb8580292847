"""Persistence: accounts, references, embedding cache, verifications, decisions, the audit chain."""
