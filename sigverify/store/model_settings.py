"""Which models may decide and how strictly: model registration and activation, threshold
overrides. Each loosens or changes what gets accepted, so where users are defined each needs a
second supervisor (store_changes.py): the first call returns the pending change's number."""

from __future__ import annotations

import json

from sqlalchemy import select

from sigverify.store import audit as audit_chain
from sigverify.store import store_changes
from sigverify.store.auth import Actor, require_supervisor
from sigverify.store.db import StoreError, now
from sigverify.store.schema import settings


class ModelSettings:
    """Mixed into Store: uses its ``actor``, ``four_eyes``, ``write``, ``get_setting``, ``put_setting``."""

    def set_threshold(self, model_version: str, threshold: float | None, allowed: tuple[float, float],
                      actor: "str | Actor", _approved_by: str = "") -> int | None:
        """Override (or clear, with None) the model's threshold, within the range its manifest allows.
        Returns the pending change's number where a second supervisor must approve, else None."""
        acting = self.actor(actor)
        require_supervisor(acting, "change thresholds")
        if threshold is not None and not allowed[0] <= threshold <= allowed[1]:
            raise StoreError(f"threshold {threshold} lies outside the model's range {allowed[0]:.4f}..{allowed[1]:.4f}")
        if self.four_eyes() and not _approved_by:
            return store_changes.request(self, acting, "threshold", model_version, {
                "model_version": model_version, "threshold": threshold, "allowed": [float(a) for a in allowed]})
        key = f"threshold:{model_version}"
        with self.write() as conn:
            at = now()
            previous = conn.execute(select(settings.c.value).where(settings.c.key == key)).scalar()
            self.put_setting(conn, key, "" if threshold is None else repr(float(threshold)), acting.name, at)
            name, role, details = store_changes.record_writer(acting, _approved_by,
                                                              {"from": previous, "to": threshold})
            audit_chain.append(conn, at, name, "threshold.change", model_version, details, role=role,
                               rows=[("settings", key)])
        return None

    def threshold_override(self, model_version: str) -> float | None:
        value = self.get_setting(f"threshold:{model_version}")
        return float(value) if value else None

    def activate_model(self, version: str, sha256: str, actor: "str | Actor", _approved_by: str = "") -> int | None:
        """Make the model the one every verification of this store uses (or request it)."""
        acting = self.actor(actor)
        require_supervisor(acting, "activate a model")
        if self.four_eyes() and not _approved_by:
            return store_changes.request(self, acting, "model.activate", version, {"version": version, "sha256": sha256})
        with self.write() as conn:
            at = now()
            previous = conn.execute(select(settings.c.value).where(settings.c.key == "active_model")).scalar()
            self.put_setting(conn, "active_model", json.dumps({"version": version, "sha256": sha256}), acting.name,
                             at)
            name, role, details = store_changes.record_writer(acting, _approved_by, {
                "sha256": sha256, "previous": json.loads(previous) if previous else None})
            audit_chain.append(conn, at, name, "model.activate", version, details, role=role,
                               rows=[("settings", "active_model")])
        return None

    def approve_model(self, version: str, digest: str, actor: "str | Actor", _approved_by: str = "") -> int | None:
        """Vouch for a model folder (its manifest and every file, by digest): only approved folders,
        and the shipped one, may decide verifications recorded in this store."""
        acting = self.actor(actor)
        require_supervisor(acting, "register a model")
        if self.four_eyes() and not _approved_by:
            return store_changes.request(self, acting, "model.register", version, {"version": version, "digest": digest})
        with self.write() as conn:
            at = now()
            key = f"model:{digest[:56]}"
            self.put_setting(conn, key, json.dumps({"version": version, "digest": digest}), acting.name, at)
            name, role, details = store_changes.record_writer(acting, _approved_by, {"digest": digest})
            audit_chain.append(conn, at, name, "model.register", version, details, role=role,
                               rows=[("settings", key)])
        return None

    def model_approved(self, digest: str) -> bool:
        value = self.get_setting(f"model:{digest[:56]}")
        try:
            return value is not None and json.loads(value).get("digest") == digest
        except (ValueError, AttributeError):
            return False
