"""The project's tables. Add models here (or import them here) so Alembic sees them.

`Item` is the example resource: copy its pattern (a base with the shared fields, a table model,
create/update models for the API) for your own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class ItemBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, index=True)
    description: str | None = Field(default=None, max_length=2000)
    done: bool = False


class Item(ItemBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # timezone-aware on every engine (PostgreSQL: timestamptz)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class ItemCreate(ItemBase):
    pass


class ItemUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    done: bool | None = None


metadata = SQLModel.metadata
