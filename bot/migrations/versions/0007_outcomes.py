"""outcomes: members' answers to the fit check, quality pulses and closing survey, and goal attainment

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outcome_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('meeting_as_agreed', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('take_part_again', sa.Boolean(), nullable=True),
    sa.Column('change_requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('helped_most_enc', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['pair_id'], ['pair.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pair_id', 'author_id', 'kind', 'period')
    )
    with op.batch_alter_table('outcome_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcome_response_pair_id'), ['pair_id'], unique=False)
        batch_op.create_index('ix_outcome_response_kind_answered', ['kind', 'answered_at'], unique=False)
    op.create_table('goal_attainment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('attainment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goal.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['outcome_response.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('response_id', 'goal_id')
    )
    with op.batch_alter_table('goal_attainment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_attainment_response_id'), ['response_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('goal_attainment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_attainment_response_id'))
    op.drop_table('goal_attainment')
    with op.batch_alter_table('outcome_response', schema=None) as batch_op:
        batch_op.drop_index('ix_outcome_response_kind_answered')
        batch_op.drop_index(batch_op.f('ix_outcome_response_pair_id'))
    op.drop_table('outcome_response')
