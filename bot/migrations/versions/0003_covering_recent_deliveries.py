"""the ledger's (status, claimed_at) index also covers what the caps read: sent_at, recipient, pair_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NARROW = ['status', 'claimed_at']
_COVERING = ['status', 'claimed_at', 'sent_at', 'recipient', 'pair_id']


def upgrade() -> None:
    # Same leading columns, so it serves every query the narrow one did; the sweep's read of the week's
    # deliveries then never visits the table.
    with op.batch_alter_table('nudge', schema=None) as batch_op:
        batch_op.drop_index('ix_nudge_status_claimed')
        batch_op.create_index('ix_nudge_status_claimed', _COVERING, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('nudge', schema=None) as batch_op:
        batch_op.drop_index('ix_nudge_status_claimed')
        batch_op.create_index('ix_nudge_status_claimed', _NARROW, unique=False)
