"""The system user that pipeline-written reports name in generated_by

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of core.db.schema.SYSTEM_USER_ID / SYSTEM_USER_EMAIL.
SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"
SYSTEM_USER_EMAIL = "pipeline@system.botcriptofy2.invalid"


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO public.users (id, email, email_verified, name) "
            "VALUES (CAST(:id AS uuid), :email, true, 'BotCriptoFy2 Analytics pipeline') "
            "ON CONFLICT (id) DO NOTHING"
        ).bindparams(id=SYSTEM_USER_ID, email=SYSTEM_USER_EMAIL)
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM public.users WHERE id = CAST(:id AS uuid)").bindparams(
            id=SYSTEM_USER_ID
        )
    )
