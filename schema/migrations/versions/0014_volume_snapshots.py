"""snapshots of the Cinder stand-in's volumes

Revision ID: 0014_volume_snapshots
Revises: 0013_security_groups
Create Date: 2026-12-02 14:20:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0014_volume_snapshots'
down_revision = '0013_security_groups'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'volume_snapshots',
        sa.Column('id', _S(), nullable=False),
        sa.Column('volume_id', _S(), nullable=False),
        sa.Column('name', _S(), nullable=True),
        sa.Column('description', _S(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('status', _S(), nullable=False),
        sa.Column('project_id', _S(), nullable=False),
        sa.Column('user_id', _S(), nullable=True),
        sa.Column('metadata', sa.JSON(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_snapshots_volume_id'), ['volume_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_volume_snapshots_project_id'), ['project_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('volume_snapshots')
