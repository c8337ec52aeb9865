"""Model references as users write them: ``churn@production``, ``churn/3``, ``models:/...``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlcycle.core.errors import InvalidInput

_REF = re.compile(r"^(?:models:/)?(?P<name>[^@/]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))?$")


@dataclass(frozen=True)
class ModelRef:
    name: str
    alias: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        match = _REF.match(text.strip())
        if not match:
            raise InvalidInput(
                f"{text!r} is not a model reference; write NAME@ALIAS (churn@production) "
                "or NAME/VERSION (churn/3)."
            )
        return cls(match["name"], match["alias"], match["version"])

    @property
    def uri(self) -> str:
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        if self.version:
            return f"models:/{self.name}/{self.version}"
        return f"models:/{self.name}"

    def __str__(self) -> str:
        return self.uri.removeprefix("models:/")
