"""Platforms and their sites (marketplaces), as pure data.

A *platform* is a selling channel (Amazon, Shopee, ...); a *site* is one of its
marketplaces (Amazon US, Shopee MY, ...). A store always lives on exactly one site, and
the site decides the store's currency, the timezone its periods are cut in, and the ids
used to talk to the platform's API.

The values come from the data files in ``lianxing/platforms/data/`` (loaded and checked
by ``lianxing.platforms.catalog``). Every fact there cites a source; a fact that no
official source confirms is listed in ``Site.unverified`` and explained in ``Site.note``,
so nobody mistakes a best guess for a documented value.

Errors::

    LookupError
     └── UnknownSite          (platform, site) is not in the catalog
          └── UnknownPlatform  ... because the platform itself is unknown
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class SiteFact(StrEnum):
    """The facts a site states; sources cite them by these names."""

    COUNTRY = "country"
    CURRENCY = "currency"
    TIMEZONE = "timezone"
    MARKETPLACE_ID = "marketplace_id"
    API_REGION = "api_region"
    API_HOST = "api_host"
    SELLER_CENTER = "seller_center"


@dataclass(frozen=True, slots=True)
class LocalizedName:
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True, slots=True)
class Source:
    """Where facts come from. ``official`` is true for the platform's own documentation
    (or the standard itself, e.g. ISO 4217); ``sites`` empty means every site."""

    id: str
    title: str
    url: str
    official: bool
    supports: tuple[SiteFact, ...]
    sites: tuple[str, ...] = ()
    note: str = ""

    def covers(self, site_code: str, fact: SiteFact) -> bool:
        return fact in self.supports and (not self.sites or site_code in self.sites)


@dataclass(frozen=True, slots=True)
class Site:
    """One marketplace of a platform.

    ``country`` is ISO 3166-1 alpha-2 (``GB`` for the site Amazon calls ``UK``), or
    ``None`` for a cross-border site that sells to every country (AliExpress). ``currency``
    is ISO 4217; ``timezone`` is the IANA zone the platform's reports cut days in.
    """

    platform: str
    code: str
    name: LocalizedName
    country: str | None
    currency: str
    timezone: str
    marketplace_id: str | None = None
    api_region: str | None = None
    api_host: str | None = None
    seller_center: str | None = None
    unverified: tuple[SiteFact, ...] = ()
    note: str = ""

    @property
    def key(self) -> str:
        """``platform:SITE``, e.g. ``amazon:US``."""
        return f"{self.platform}:{self.code}"

    @property
    def is_verified(self) -> bool:
        return not self.unverified

    def fact(self, fact: SiteFact) -> str | None:
        value: str | None = getattr(self, fact.value)
        return value


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    name: LocalizedName
    sites: tuple[Site, ...]
    sources: tuple[Source, ...] = ()

    @property
    def site_codes(self) -> tuple[str, ...]:
        return tuple(site.code for site in self.sites)

    def site(self, code: str) -> Site:
        """The site with this code (case-insensitive: ``us`` finds ``US``)."""
        wanted = code.strip().upper()
        for site in self.sites:
            if site.code == wanted:
                return site
        raise UnknownSite(self.id, code, self.site_codes)

    def sources_for(self, site_code: str, fact: SiteFact) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.covers(site_code, fact))


class UnknownSite(LookupError):
    """The requested (platform, site) is not in the catalog; ``choices`` lists the
    valid codes so the message can tell the user what to type instead."""

    def __init__(self, platform: str, site: str, choices: tuple[str, ...]) -> None:
        self.platform = platform
        self.site = site
        self.choices = choices
        super().__init__(
            f"未知站点 / unknown site {site!r} for platform {platform!r}; "
            f"valid sites: {', '.join(choices)}"
        )


class UnknownPlatform(UnknownSite):
    def __init__(self, platform: str, choices: tuple[str, ...]) -> None:
        self.platform = platform
        self.site = ""
        self.choices = choices
        LookupError.__init__(
            self,
            f"未知平台 / unknown platform {platform!r}; valid platforms: {', '.join(choices)}",
        )


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every platform Lianxing knows, in a stable order (the order of ``platforms``)."""

    platforms: tuple[Platform, ...]

    @property
    def platform_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.platforms)

    def platform(self, platform_id: str) -> Platform:
        """The platform with this id (case-insensitive)."""
        wanted = platform_id.strip().lower()
        for platform in self.platforms:
            if platform.id == wanted:
                return platform
        raise UnknownPlatform(platform_id, self.platform_ids)

    def site(self, platform_id: str, site_code: str) -> Site:
        return self.platform(platform_id).site(site_code)

    def sites(self) -> Iterator[Site]:
        for platform in self.platforms:
            yield from platform.sites
