"""The action server's settings: the domain settings (`integrity.settings.DomainSettings`), read from the
environment once, here at the boundary; the domain modules get what they need from this object."""

from __future__ import annotations

from functools import lru_cache

from integrity.settings import DomainSettings


@lru_cache(maxsize=1)
def domain_settings() -> DomainSettings:
    return DomainSettings.from_env()
