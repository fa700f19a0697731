"""sign-up and matching: profiles with their topics and exclusions, the topic list, match proposals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:09:46.587098
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('match_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mentee_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('pair_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('match_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_proposal_mentee_id'), ['mentee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_proposal_mentor_id'), ['mentor_id'], unique=False)
        batch_op.create_index('ix_match_proposal_status', ['status'], unique=False)

    op.create_table('topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=75), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=75), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('profile',
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('strengths', sa.Text(), nullable=False),
    sa.Column('questions', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('in_pool', sa.Boolean(), nullable=False),
    sa.Column('front_of_queue', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.slack_user_id'], ),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('profile_block',
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('blocked_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['profile.person_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'blocked_id')
    )
    op.create_table('profile_topic',
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['profile.person_id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'topic_id', 'kind')
    )


def downgrade() -> None:
    op.drop_table('profile_topic')
    op.drop_table('profile_block')
    op.drop_table('profile')
    op.drop_table('topic')
    with op.batch_alter_table('match_proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_match_proposal_status')
        batch_op.drop_index(batch_op.f('ix_match_proposal_mentor_id'))
        batch_op.drop_index(batch_op.f('ix_match_proposal_mentee_id'))

    op.drop_table('match_proposal')
