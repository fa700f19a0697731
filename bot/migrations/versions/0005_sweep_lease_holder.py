"""the sweep lease row names its holder's host and pid, so a dead holder's lease is taken over at once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('workspace_flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_host', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('holder_pid', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('workspace_flag', schema=None) as batch_op:
        batch_op.drop_column('holder_pid')
        batch_op.drop_column('holder_host')
