"""indexes for the sweep: open goals by due date, ledger rows by status and claim time, stale profiles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_info_fetched', ['info_fetched_at'], unique=False)
    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.create_index('ix_goal_status_due', ['status', 'due_on'], unique=False)
    with op.batch_alter_table('nudge', schema=None) as batch_op:
        # The wider index serves every query the status-only one did.
        batch_op.create_index('ix_nudge_status_claimed', ['status', 'claimed_at'], unique=False)
        batch_op.drop_index('ix_nudge_status')


def downgrade() -> None:
    with op.batch_alter_table('nudge', schema=None) as batch_op:
        batch_op.create_index('ix_nudge_status', ['status'], unique=False)
        batch_op.drop_index('ix_nudge_status_claimed')
    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.drop_index('ix_goal_status_due')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_info_fetched')
