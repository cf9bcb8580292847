"""What an enrolment request carries: the signatory, the file's name and box, the requester's
embedding (checked, never kept: the approved image is embedded again), the model, an expiry, and
why a specimen unlike the others is wanted all the same."""

from __future__ import annotations

import base64

import numpy as np


def enrolment_payload(signatory_id: int, filename: str, box, embedding: np.ndarray, model_sha256: str,
                      expires_on: str | None = None, unlike_reason: str = "",
                      from_verification: int | None = None) -> dict:
    payload = {"signatory_id": signatory_id, "filename": filename, "box": [int(v) for v in box],
               "embedding": base64.b64encode(np.asarray(embedding, dtype="<f4").tobytes()).decode(),
               "model_sha256": model_sha256, "expires_on": expires_on}
    if unlike_reason:  # shown to the approving supervisor and kept in the audit trail
        payload["unlike_reason"] = unlike_reason
    if from_verification is not None:  # a cheque a person accepted as genuine, proposed as a specimen
        payload["from_verification"] = int(from_verification)
    return payload
