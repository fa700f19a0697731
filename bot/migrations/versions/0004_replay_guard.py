"""signed requests already acted on, so a replayed one within Slack's 5-minute window is ignored

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('seen_request',
                    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
                    sa.Column('signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('signature'))
    with op.batch_alter_table('seen_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_request_signed_at'), ['signed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('seen_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_request_signed_at'))
    op.drop_table('seen_request')
