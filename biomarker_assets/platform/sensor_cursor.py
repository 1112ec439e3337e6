"""The base of every sensor's cursor: a pydantic model stored as JSON.

Until the sensors were split, all five stored one model holding every sensor's fields. Extra
fields are ignored, so a cursor stored by a deployed instance still loads into each sensor's own type.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict


class SensorCursor(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @classmethod
    def load(cls, raw: str | None) -> Self:
        return cls.model_validate_json(raw) if raw else cls()

    def dump(self) -> str:
        return self.model_dump_json()
