"""one table for what Slack may deliver twice: Events API ids and signed requests, each forgotten in its time

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('seen_once',
                    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
                    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
                    sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('kind', 'key'))
    op.create_index('ix_seen_once_kind_seen_at', 'seen_once', ['kind', 'seen_at'], unique=False)
    # What was recorded before still guards against its repeats.
    op.execute("INSERT INTO seen_once (kind, key, seen_at) SELECT 'event', event_id, handled_at FROM handled_event")
    op.execute("INSERT INTO seen_once (kind, key, seen_at) SELECT 'request', signature, signed_at FROM seen_request")
    op.drop_index('ix_seen_request_signed_at', table_name='seen_request')
    op.drop_table('seen_request')
    op.drop_table('handled_event')


def downgrade() -> None:
    op.create_table('handled_event',
                    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
                    sa.Column('handled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('event_id'))
    op.create_table('seen_request',
                    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
                    sa.Column('signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('signature'))
    op.create_index('ix_seen_request_signed_at', 'seen_request', ['signed_at'], unique=False)
    op.execute("INSERT INTO handled_event (event_id, handled_at) "
               "SELECT key, seen_at FROM seen_once WHERE kind = 'event' AND length(key) <= 64")
    op.execute("INSERT INTO seen_request (signature, signed_at) SELECT key, seen_at FROM seen_once WHERE kind = 'request'")
    op.drop_index('ix_seen_once_kind_seen_at', table_name='seen_once')
    op.drop_table('seen_once')
