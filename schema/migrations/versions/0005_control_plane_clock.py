"""control plane clock

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('control_plane_clock',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('last_tick', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('up_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('control_plane_clock')
