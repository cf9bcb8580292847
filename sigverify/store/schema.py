"""The store's tables (SQLAlchemy Core), shaped for mandates, signatories and roles from the start."""

from __future__ import annotations

from sqlalchemy import (Boolean, Column, Float, ForeignKey, Integer, LargeBinary, MetaData, String, Table, Text,
                        UniqueConstraint)

metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False, default="clerk"),  # clerk | supervisor
    Column("password_hash", Text),  # None: the OS user is trusted
    Column("created_at", String(40), nullable=False),
    # pending: a supervisor added to a store in operation, until a second supervisor approves
    Column("status", String(16), nullable=False, default="active", server_default="active"),
    Column("created_by", String(128)),
)

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("holder_name", String(256), nullable=False),
    Column("instructions", Text, nullable=False, default=""),
    Column("always_refer", Boolean, nullable=False, default=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(128), nullable=False),
)

signatories = Table(
    "signatories", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(256), nullable=False),
    Column("role", String(64), nullable=False, default=""),
    Column("panel", String(16), nullable=False, default=""),
    Column("approval_limit", Float),
    Column("created_at", String(40), nullable=False),
)

references = Table(
    "reference_signatures", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("signatory_id", Integer, ForeignKey("signatories.id"), index=True),
    Column("image", LargeBinary, nullable=False),  # the original bytes, as scanned
    Column("image_sha256", String(64), nullable=False),
    Column("filename", String(512), nullable=False),
    Column("crop_x", Integer, nullable=False),
    Column("crop_y", Integer, nullable=False),
    Column("crop_w", Integer, nullable=False),
    Column("crop_h", Integer, nullable=False),
    Column("enrolled_by", String(128), nullable=False),
    Column("enrolled_at", String(40), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("retired_by", String(128)),
    Column("retired_at", String(40)),
    Column("expires_on", String(10)),
    UniqueConstraint("account_id", "image_sha256", name="uq_reference_image"),
)

embeddings = Table(
    "embeddings", metadata,
    Column("reference_id", Integer, ForeignKey("reference_signatures.id"), primary_key=True),
    Column("model_sha256", String(64), primary_key=True),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
    Column("created_at", String(40), nullable=False),
)

verifications = Table(
    "verifications", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("questioned_image", LargeBinary, nullable=False),
    Column("questioned_sha256", String(64), nullable=False),
    Column("filename", String(512), nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("model_sha256", String(64), nullable=False),
    Column("distances", Text, nullable=False),  # JSON: [{"reference_id": .., "distance": ..}, ..]
    Column("distance", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True),
    Column("verification_id", Integer, ForeignKey("verifications.id"), nullable=False, index=True),
    Column("decision", String(16), nullable=False),  # accept | reject | escalate
    Column("comment", Text, nullable=False, default=""),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", String(40), nullable=False),
)

settings = Table(
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at", String(40), nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("role", String(16), nullable=False, default=""),
    Column("action", String(64), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False, unique=True),  # unique: the chain cannot fork
    Column("hash", String(64), nullable=False, unique=True),
)

# ---------------------------------------------------------------- schema version 2: mandates

mandate_rules = Table(
    "mandate_rules", metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("rule", Text, nullable=False),  # JSON, see sigverify/mandates/rules.py
    Column("requested_by", String(128), nullable=False),
    Column("approved_by", String(128), nullable=False),
    Column("set_at", String(40), nullable=False),
)

mandate_files = Table(
    "mandate_files", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("image", LargeBinary, nullable=False),
    Column("filename", String(512), nullable=False),
    Column("uploaded_by", String(128), nullable=False),
    Column("uploaded_at", String(40), nullable=False),
)

pending_changes = Table(
    "pending_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),  # enroll | retire | rule | signatory
    Column("account_number", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("attachment", LargeBinary),  # e.g. the specimen image of an enrolment
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", String(40), nullable=False),
    Column("status", String(16), nullable=False, default="pending"),  # pending | approved | rejected
    Column("decided_by", String(128)),
    Column("decided_at", String(40)),
)

documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("amount", Float, nullable=False),
    Column("image", LargeBinary, nullable=False),
    Column("filename", String(512), nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),  # accepted | rejected | review
    Column("explanation", Text, nullable=False),
    Column("status", String(16), nullable=False),  # closed | open | aside | decided
    Column("created_by", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("review_decision", String(8)),  # OK | NOK
    Column("review_comment", Text),
    Column("reviewed_by", String(128)),
    Column("reviewed_at", String(40)),
)

document_signatures = Table(
    "document_signatures", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("box", String(64), nullable=False),  # "x,y,w,h"
    Column("signatory_id", Integer, ForeignKey("signatories.id")),
    Column("distance", Float),
    Column("threshold", Float, nullable=False),
    Column("verdict", String(16), nullable=False),
)

# ---------------------------------------------------------------- schema version 4: identification, batches

identifications = Table(
    "identifications", metadata,
    Column("id", Integer, primary_key=True),
    Column("questioned_image", LargeBinary, nullable=False),
    Column("questioned_sha256", String(64), nullable=False),
    Column("filename", String(512), nullable=False),
    Column("scope", String(64), nullable=False, default=""),  # an account number, or "" for everyone
    Column("model_version", String(128), nullable=False),
    Column("model_sha256", String(64), nullable=False),
    Column("candidates", Text, nullable=False),  # JSON, best first: account, signatory, distance, score, specimens
    Column("matched_account", String(64), nullable=False, default=""),  # "" = no match found
    Column("matched_signatory", String(256), nullable=False, default=""),
    Column("threshold", Float, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
)

batch_rows = Table(
    "batch_rows", metadata,
    Column("batch", String(64), primary_key=True),  # the clearing run: SHA-256 of its manifest's bytes
    Column("row", Integer, primary_key=True),  # the manifest's data row, from 1
    Column("document_id", Integer, ForeignKey("documents.id")),  # None: the row could not be verified
    Column("result", Text, nullable=False),  # JSON: what the results file says of this row
    Column("created_by", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
)
