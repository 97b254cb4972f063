"""CRUD endpoints for the example resource, at `/items`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .engine import get_session
from .models import Item, ItemCreate, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])
Session = Annotated[AsyncSession, Depends(get_session)]


@router.post("", status_code=201)
async def create_item(data: ItemCreate, s: Session) -> Item:
    item = Item.model_validate(data)
    s.add(item)
    await s.commit()
    await s.refresh(item)
    return item


@router.get("")
async def list_items(
    s: Session, offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[Item]:
    rows = await s.exec(select(Item).order_by(col(Item.id)).offset(offset).limit(limit))
    return list(rows.all())


async def _get(s: AsyncSession, item_id: int) -> Item:
    item = await s.get(Item, item_id)
    if item is None:
        raise HTTPException(404, f"item {item_id} not found")
    return item


@router.get("/{item_id}")
async def read_item(item_id: int, s: Session) -> Item:
    return await _get(s, item_id)


@router.patch("/{item_id}")
async def update_item(item_id: int, data: ItemUpdate, s: Session) -> Item:
    item = await _get(s, item_id)
    item.sqlmodel_update(data.model_dump(exclude_unset=True))
    s.add(item)
    await s.commit()
    await s.refresh(item)
    return item


@router.delete("/{item_id}", status_code=204)
async def delete_item(item_id: int, s: Session) -> Response:
    await s.delete(await _get(s, item_id))
    await s.commit()
    return Response(status_code=204)
