"""Which model folders may decide a verification that is recorded in a store.

The shipped model is pinned here by its folder digest (manifest and every file, see
manifest.folder_digest); any other folder must have been approved in the store by a supervisor
(``sigverify models register``, or activation in the app), which the audit trail records.
A test checks the pin against models/default, so shipping a new model means updating it.
"""

from __future__ import annotations

from sigverify.errors import ModelError

SHIPPED_MODEL_DIGEST = "b84ac46b41c2127ff94ed75d7983a8396100eca0c7571f2453a9146b94138eee"


def is_shipped(digest: str) -> bool:
    return digest == SHIPPED_MODEL_DIGEST


def provenance_note(engine) -> str | None:
    """What an unrecorded result must say when its model is not the shipped one: the version name
    comes from the folder's own manifest, which anyone can copy and edit."""
    digest = getattr(engine, "folder_digest", "")
    if is_shipped(digest):
        return None
    return (f"model folder {engine.model_dir} is not the shipped model (folder digest {digest[:12]}…); its "
            f"version name '{engine.version}' is what its own manifest says, and a recorded verification "
            "refuses it unless a supervisor registered it")


def require_trusted_model(store, engine) -> None:
    """Only the shipped model, or a folder a supervisor approved in this store, decides a recorded
    verification: an edited manifest (threshold), a swapped population file or a model copied
    in from elsewhere is refused (exit 4 on the command line)."""
    digest = getattr(engine, "folder_digest", "")
    if is_shipped(digest) or store.model_approved(digest):
        _require_active(store, engine)
        return
    raise ModelError(f"model {engine.version} in {engine.model_dir} is neither the shipped model nor registered in "
                     f"this store by a supervisor (folder digest {digest[:12]}…); a supervisor registers it with "
                     "'sigverify models register FOLDER --store STORE --user NAME'")


def _require_active(store, engine) -> None:
    """Once a supervisor has activated a model in this store, it alone decides what is recorded there:
    --model, SIGVERIFY_MODEL or an edited registry in the user's home choose nothing else."""
    import json

    value = store.get_setting("active_model")
    if not value:
        return  # nothing activated yet: the shipped model, or any approved one, decides
    try:
        active = json.loads(value)
    except ValueError:
        raise ModelError("the store's active model setting is unreadable; a supervisor activates a model again") from None
    if active.get("sha256") != engine.manifest.sha256:
        raise ModelError(f"model {engine.version} is not this store's active model ({active.get('version')}); "
                         "verifications recorded here are decided by the active model only")
