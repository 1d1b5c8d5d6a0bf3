"""A patient within its source: the card log records whose card a card is; snoozes keyed on
the patient id alone end.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Until now patient_ref was a keyed hash of the patient id alone, so an override at one EHR hid
the topic for another patient with the same id at another EHR. From this revision on it hashes
the source (verified issuer and tenant; the fhirServer in open mode) with the id, and
issued_card.source_ref records the source a card was issued to.

Rows written before it cannot be given a source: nothing recorded the issuer, and a keyed hash
cannot be re-keyed. So:
- their issued_card.source_ref is '', which no caller's source matches: with authentication on,
  feedback on those cards is refused (400, as for a card we never issued); in open mode it is
  stored for the report, and snoozes nothing, since its patient_ref is of the old kind;
- their snoozes end now (feedback.snoozed_until cleared): the advice comes back, at every EHR,
  rather than staying hidden where it was never dismissed. The feedback rows stay, for the report.

Downgrading drops source_ref; the snoozes ended here do not come back.
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.add_column(sa.Column("source_ref", sa.String(64), nullable=False, server_default=""))
    # The default only fills the old rows: a new card without a source is a bug, and fails.
    with op.batch_alter_table("issued_card") as batch:
        batch.alter_column("source_ref", server_default=None)
    op.execute(sa.text("UPDATE feedback SET snoozed_until = NULL WHERE snoozed_until IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("source_ref")
