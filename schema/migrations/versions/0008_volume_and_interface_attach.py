"""volume and interface attach: the Cinder stand-in's attachments, BDM
uuid/tag/attachment_id, virtual_interfaces

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 09:50:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'volume_attachments',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('volume_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('instance_uuid', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('attach_mode', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('connector', sa.JSON(), nullable=True),
        sa.Column('attached_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_attachments_volume_id'), ['volume_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_volume_attachments_instance_uuid'),
                              ['instance_uuid'], unique=False)
    op.create_table(
        'virtual_interfaces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('port_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('instance_uuid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('network_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('preserve_on_delete', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('virtual_interfaces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_virtual_interfaces_port_id'), ['port_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_virtual_interfaces_instance_uuid'),
                              ['instance_uuid'], unique=False)
    with op.batch_alter_table('block_device_mappings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('attachment_id', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('block_device_mappings', schema=None) as batch_op:
        batch_op.drop_column('attachment_id')
        batch_op.drop_column('tag')
        batch_op.drop_column('uuid')
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_attachments_instance_uuid'))
        batch_op.drop_index(batch_op.f('ix_volume_attachments_volume_id'))
    op.drop_table('volume_attachments')
    with op.batch_alter_table('virtual_interfaces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_virtual_interfaces_instance_uuid'))
        batch_op.drop_index(batch_op.f('ix_virtual_interfaces_port_id'))
    op.drop_table('virtual_interfaces')
