"""The tables, as SQLAlchemy Core metadata. The migrations in migrations/versions create them;
tests/store/test_migrations.py checks the two never drift apart.

What is kept is only what the card log, feedback, snoozes and replay protection need: card and
suggestion uuids, topics, times, a keyed hash of the patient id within its source and one of the
source. No names, no record content, no free text (a clinician's override comment may name the
patient, so it is not stored).
"""

from __future__ import annotations

from datetime import timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Constraints and indexes are named explicitly (and kept under PostgreSQL's 63 characters), so
# later migrations can refer to them by the same name on both databases.
metadata = MetaData()

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its rowid.
_Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime in, an aware UTC datetime out, on both databases.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are normalised to UTC
    before they are written and compared, which keeps its text comparison chronological.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store only takes aware UTC datetimes")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


issued_card = Table(
    "issued_card", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("card_uuid", String(64), nullable=False),
    Column("service_id", String(100), nullable=False),
    Column("hook", String(100), nullable=False),
    Column("hook_instance", String(100), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("suggestion_uuids", JSON, nullable=False),
    # [system, code] of each override reason the card offered: feedback may give only these.
    # [] for cards logged before revision 0003.
    Column("override_reasons", JSON, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    # Keyed hash of (source, patient id): the patient within its EHR (store/patient_key.py).
    Column("patient_ref", String(64), nullable=False),
    # Keyed hash of the source the card was issued to: only that source may give feedback on it.
    # '' for cards logged before revision 0002, whose source nobody recorded.
    Column("source_ref", String(64), nullable=False),
    # shown (returned to the EHR), silent (a topic switched to silent: computed, not returned) or
    # capped (past [topics] max_cards). 'shown' for cards logged before revision 0004.
    Column("status", String(16), nullable=False),
    # A card uuid names one card shown once (CDS Hooks 2.0: feedback refers to it).
    UniqueConstraint("card_uuid", name="uq_issued_card_uuid"),
    # The report and the retention purge select by time.
    Index("ix_issued_card_issued_at", "issued_at"),
)

feedback = Table(
    "feedback", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("card_uuid", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("outcome_timestamp", UtcDateTime, nullable=False),
    # '' rather than NULL when there is no reason: NULLs never collide in a unique key.
    Column("reason_system", String(255), nullable=False),
    Column("reason_code", String(255), nullable=False),
    Column("accepted_suggestions", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # Copied from the card, so a snooze is one indexed lookup with no join.
    Column("service_id", String(100), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("patient_ref", String(64), nullable=False),
    # Set for overrides: the topic is not shown again for this patient before this time.
    Column("snoozed_until", UtcDateTime, nullable=True),
    # The same feedback sent twice is the same fact, stored once.
    UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", "reason_system", "reason_code",
                     name="uq_feedback_once"),
    Index("ix_feedback_snooze", "patient_ref", "topic", "snoozed_until"),
    # Lookups by card use the unique key's leading column; purge selects by receipt time.
    Index("ix_feedback_received_at", "received_at"),
)

seen_jti = Table(
    "seen_jti", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("iss", Text, nullable=False),
    Column("jti", Text, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    # The unique key is what makes replay detection atomic across worker processes.
    UniqueConstraint("iss", "jti", name="uq_seen_jti_iss_jti"),
    Index("ix_seen_jti_expires_at", "expires_at"),
)

call_count = Table(
    "call_count", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    # The UTC hour the calls began in (minutes and seconds zero).
    Column("hour", UtcDateTime, nullable=False),
    # The verified caller: issuer, and the token's tenant ('' for none, and both '' in open mode).
    Column("issuer", Text, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("service_id", String(100), nullable=False),
    Column("hook", String(100), nullable=False),
    # What is counted (store/counts.py): calls; shown, silent, capped or snoozed cards of a topic;
    # calls whose latency fell in a bucket.
    Column("measure", String(16), nullable=False),
    # The topic for a card measure, a bucket's upper bound in milliseconds for latency, '' for calls.
    Column("key", String(64), nullable=False),
    Column("count", BigInteger, nullable=False),
    # Every worker adds to the same row (INSERT ... ON CONFLICT DO UPDATE on this key).
    UniqueConstraint("hour", "issuer", "tenant", "service_id", "hook", "measure", "key", name="uq_call_count"),
)
