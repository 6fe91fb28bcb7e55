"""Schemas used across the core tests."""

from __future__ import annotations

from pydantic import BaseModel


class Msg(BaseModel):
    message: str


class Formatted(BaseModel):
    formatted: str


class Count(BaseModel):
    count: int


class Value(BaseModel):
    value: int
