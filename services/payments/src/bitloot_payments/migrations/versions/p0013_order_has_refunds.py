"""order_has_refunds(order_id): whether the order has a refund, read with a snapshot of its
own, so that a fulfilment's UPDATE of the order can ask in its RETURNING once the row is
locked (adapters/orders.py `record_fulfilled`), one round trip instead of two.

A scalar subquery in the UPDATE would not do: it reads with the statement's snapshot,
taken before the UPDATE waited for the row lock, and so could miss a refund recorded (under
that lock) by the transaction it waited for. A VOLATILE PL/pgSQL function takes a fresh
snapshot for each query it runs (READ COMMITTED), here after the lock is held.

Revision ID: p0013
Revises: p0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "p0013"
down_revision: str | None = "p0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION order_has_refunds(wanted uuid) RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM 1 FROM refunds WHERE order_id = wanted LIMIT 1;
            RETURN FOUND;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION order_has_refunds(uuid)")
