"""security groups of the Neutron stand-in, their rules, ports' groups, and
the groups a server was booted with

Revision ID: 0013_security_groups
Revises: 0012
Create Date: 2026-12-02 13:30:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013_security_groups'
down_revision = '0012'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'security_groups',
        sa.Column('id', _S(), nullable=False),
        sa.Column('name', _S(), nullable=False),
        sa.Column('description', _S(), nullable=False),
        sa.Column('project_id', _S(), nullable=False),
        sa.Column('stateful', sa.Boolean(), nullable=False),
        sa.Column('revision_number', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('security_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_groups_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_groups_project_id'), ['project_id'],
                              unique=False)
    op.create_table(
        'default_security_groups',
        sa.Column('project_id', _S(), nullable=False),
        sa.Column('security_group_id', _S(), nullable=False),
        sa.PrimaryKeyConstraint('project_id'),
    )
    with op.batch_alter_table('default_security_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_default_security_groups_security_group_id'),
                              ['security_group_id'], unique=False)
    op.create_table(
        'security_group_rules',
        sa.Column('id', _S(), nullable=False),
        sa.Column('security_group_id', _S(), nullable=False),
        sa.Column('project_id', _S(), nullable=False),
        sa.Column('direction', _S(), nullable=False),
        sa.Column('ethertype', _S(), nullable=False),
        sa.Column('protocol', _S(), nullable=True),
        sa.Column('port_range_min', sa.Integer(), nullable=True),
        sa.Column('port_range_max', sa.Integer(), nullable=True),
        sa.Column('remote_ip_prefix', _S(), nullable=True),
        sa.Column('remote_group_id', _S(), nullable=True),
        sa.Column('description', _S(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('security_group_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_group_rules_security_group_id'),
                              ['security_group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_group_rules_remote_group_id'),
                              ['remote_group_id'], unique=False)
    op.create_table(
        'port_security_groups',
        sa.Column('port_id', _S(), nullable=False),
        sa.Column('security_group_id', _S(), nullable=False),
        sa.PrimaryKeyConstraint('port_id', 'security_group_id'),
    )
    with op.batch_alter_table('port_security_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_port_security_groups_security_group_id'),
                              ['security_group_id'], unique=False)
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('security_group_ids', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('security_group_names', sa.JSON(), nullable=False,
                                      server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('security_group_names')
        batch_op.drop_column('security_group_ids')
    op.drop_table('port_security_groups')
    op.drop_table('security_group_rules')
    op.drop_table('default_security_groups')
    op.drop_table('security_groups')
