"""Load and check the platform catalog from the YAML files in ``data/``.

One file per platform (``data/<platform id>.yaml``). The loader refuses a catalog that
breaks any rule below, listing every problem on its own line (file, path, value, what was
expected) rather than stopping at the first:

* shapes and formats: ISO 3166-1 alpha-2 country (or null), ISO 4217-shaped currency,
  an IANA timezone that ``zoneinfo`` can load, unique site codes and source ids;
* every fact a site states is either backed by an *official* source that covers it, or
  listed in the site's ``unverified`` with a ``note`` saying why; guesses are never silent.

``load_catalog()`` reads the shipped files once per process (the data cannot change
while it runs); ``read_catalog(directory)`` reads any directory, uncached.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lianxing.domain.platforms import (
    Catalog,
    LocalizedName,
    Platform,
    Site,
    SiteFact,
    Source,
    UnknownPlatform,
    UnknownSite,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "UnknownPlatform",
    "UnknownSite",
    "catalog_payload",
    "load_catalog",
    "read_catalog",
]

_PLATFORM_ID = r"^[a-z][a-z0-9_]*$"
_SITE_CODE = r"^[A-Z][A-Z0-9]{1,7}$"


class CatalogError(ValueError):
    """The catalog data is invalid; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _NameModel(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _SourceModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    url: str = Field(min_length=1)
    official: bool
    supports: tuple[SiteFact, ...] = Field(min_length=1)
    sites: tuple[str, ...] = ()
    note: str = ""


class _SiteModel(_Model):
    code: str = Field(pattern=_SITE_CODE)
    name: _NameModel
    country: str | None = Field(pattern=r"^[A-Z]{2}$")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: str = Field(min_length=1)
    marketplace_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]+$")
    api_region: str | None = Field(default=None, pattern=r"^[a-z]+$")
    api_host: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$")
    seller_center: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$")
    unverified: tuple[SiteFact, ...] = ()
    note: str = ""


class _PlatformModel(_Model):
    id: str = Field(pattern=_PLATFORM_ID)
    name: _NameModel
    sources: tuple[_SourceModel, ...] = ()
    sites: tuple[_SiteModel, ...] = Field(min_length=1)


def _location(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _check_rules(label: str, model: _PlatformModel, stem: str) -> list[str]:
    """Rules that span fields; pydantic has already checked each field's shape."""
    problems: list[str] = []
    if model.id != stem:
        problems.append(
            f"{label}: id: value {model.id!r}; expected the file name {stem!r} "
            f"(one file per platform, named after its id)"
        )
    codes = [site.code for site in model.sites]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"{label}: sites: site code {code!r} appears more than once")
    source_ids = [s.id for s in model.sources]
    for sid in sorted({s for s in source_ids if source_ids.count(s) > 1}):
        problems.append(f"{label}: sources: source id {sid!r} appears more than once")
    for i, source in enumerate(model.sources):
        for code in source.sites:
            if code not in codes:
                problems.append(
                    f"{label}: sources[{i}].sites: value {code!r}; expected one of the "
                    f"platform's site codes ({', '.join(codes)})"
                )
    for i, site in enumerate(model.sites):
        where = f"{label}: sites[{i}] ({site.code})"
        try:
            ZoneInfo(site.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"{where}.timezone: value {site.timezone!r}; expected an IANA timezone "
                f"name such as 'America/Los_Angeles'"
            )
        for fact in site.unverified:
            if getattr(site, fact.value) is None:
                problems.append(
                    f"{where}.unverified: value {fact.value!r}; the site does not state "
                    f"this fact, so it cannot be unverified"
                )
        if site.unverified and not site.note.strip():
            problems.append(
                f"{where}.note: empty; expected a note explaining the unverified facts "
                f"({', '.join(f.value for f in site.unverified)})"
            )
        for fact in SiteFact:
            if getattr(site, fact.value) is None or fact in site.unverified:
                continue
            backed = any(
                s.official and fact in s.supports and (not s.sites or site.code in s.sites)
                for s in model.sources
            )
            if not backed:
                problems.append(
                    f"{where}.{fact.value}: value {getattr(site, fact.value)!r} has no "
                    f"official source covering it; expected a source in `sources` or "
                    f"{fact.value!r} listed in `unverified` with a note"
                )
    return problems


def _to_domain(model: _PlatformModel) -> Platform:
    sites = tuple(
        Site(
            platform=model.id,
            code=s.code,
            name=LocalizedName(zh=s.name.zh, en=s.name.en),
            country=s.country,
            currency=s.currency,
            timezone=s.timezone,
            marketplace_id=s.marketplace_id,
            api_region=s.api_region,
            api_host=s.api_host,
            seller_center=s.seller_center,
            unverified=s.unverified,
            note=s.note.strip(),
        )
        for s in model.sites
    )
    sources = tuple(
        Source(
            id=s.id,
            title=s.title,
            url=s.url,
            official=s.official,
            supports=s.supports,
            sites=s.sites,
            note=s.note.strip(),
        )
        for s in model.sources
    )
    return Platform(
        id=model.id,
        name=LocalizedName(zh=model.name.zh, en=model.name.en),
        sites=sites,
        sources=sources,
    )


def _read_platform(entry: Traversable, label: str) -> tuple[Platform | None, list[str]]:
    stem = entry.name.rsplit(".", 1)[0]
    try:
        raw: Any = yaml.safe_load(entry.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        return None, [f"{label}:{line}: not valid YAML ({exc.__class__.__name__})"]
    if not isinstance(raw, dict):
        return None, [f"{label}: expected a mapping with id, name, sources, sites"]
    try:
        model = _PlatformModel.model_validate(raw)
    except ValidationError as exc:
        return None, [
            f"{label}: {_location(err['loc'])}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        ]
    problems = _check_rules(label, model, stem)
    return (None, problems) if problems else (_to_domain(model), [])


def read_catalog(directory: Traversable | Path) -> Catalog:
    """Read every ``*.yaml`` in ``directory``; platforms are ordered by id.

    :raises CatalogError: listing every problem found in every file.
    """
    entries = sorted(
        (e for e in directory.iterdir() if e.is_file() and e.name.endswith(".yaml")),
        key=lambda e: e.name,
    )
    platforms: list[Platform] = []
    problems: list[str] = []
    for entry in entries:
        label = str(entry) if isinstance(entry, Path) else f"platforms/data/{entry.name}"
        platform, found = _read_platform(entry, label)
        problems.extend(found)
        if platform is not None:
            platforms.append(platform)
    if not entries:
        problems.append(f"{directory}: no platform files (*.yaml) found")
    if problems:
        raise CatalogError(problems)
    return Catalog(platforms=tuple(platforms))


@functools.cache
def load_catalog() -> Catalog:
    """The shipped catalog (``lianxing/platforms/data/*.yaml``), read once per process."""
    return read_catalog(files("lianxing.platforms") / "data")


def catalog_payload(catalog: Catalog) -> dict[str, Any]:
    """The catalog as one JSON-ready object (used by ``lianxing platforms --json``)."""
    return {
        "platforms": [
            {
                "id": platform.id,
                "name": {"zh": platform.name.zh, "en": platform.name.en},
                "sites": [
                    {
                        "code": site.code,
                        "country": site.country,
                        "currency": site.currency,
                        "timezone": site.timezone,
                        "marketplace_id": site.marketplace_id,
                    }
                    for site in platform.sites
                ],
            }
            for platform in catalog.platforms
        ]
    }
