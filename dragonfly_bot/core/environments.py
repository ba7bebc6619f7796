"""The protocol's two environments: the ONE definition of their names.

Settings, the status and hotfix services, the CI relay and the chat
commands all import it from here; nothing else spells "dev"/"prod" as a type.
"""

from __future__ import annotations

from typing import Literal, TypeGuard

Environment = Literal["dev", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "prod")


def is_environment(value: object) -> TypeGuard[Environment]:
    """True when ``value`` names one of ENVIRONMENTS (exactly, lower case)."""
    return value in ENVIRONMENTS
