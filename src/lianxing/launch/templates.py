"""Launch checklist templates: data files per platform, with site overlays and cited sources.

``template_data/_common.yaml`` holds the steps of every launch (Lianxing's own method);
``template_data/<platform>.yaml`` adds what the platform asks for, with ``sites`` overlays for
site-specific compliance (VAT, EPR, sales tax, ...). The loader refuses a template that
breaks a rule, one line per problem:

* every platform item and risk cites at least one source declared in its file;
* an item or risk whose sources are all unofficial is marked ``unverified: true``;
* document types, stages, kinds and measures come from closed vocabularies;
* overlay site codes exist in the platform catalog; item keys are unique per site.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lianxing.domain.launch import (
    MEASURE_KINDS,
    DocumentType,
    ItemKind,
    LaunchError,
    Measure,
    Stage,
)
from lianxing.platforms.catalog import load_catalog


class TemplateError(ValueError):
    """The template data is invalid; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NoTemplate(LaunchError):
    """No launch template exists for a platform."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Name(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _Source(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    url: str = Field(min_length=1)
    official: bool
    note: str = ""


class _Measure(_Model):
    kind: str
    by_day: int = Field(ge=1, le=366)
    at_least: Decimal | None = Field(default=None, ge=0)


class _Item(_Model):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    stage: Stage
    kind: ItemKind = ItemKind.STEP
    title: _Name
    owner: str = "seller"
    due_days: int | None = Field(default=None, ge=0)
    required: bool = True
    document_type: DocumentType | None = None
    measure: _Measure | None = None
    sources: tuple[str, ...] = ()
    unverified: bool = False
    note: str = ""


class _Risk(_Model):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    severity: str = Field(pattern=r"^(high|medium|low)$")
    title: _Name
    detail: _Name
    sources: tuple[str, ...] = Field(min_length=1)
    unverified: bool = False


class _Overlay(_Model):
    codes: tuple[str, ...] = Field(min_length=1)
    items: tuple[_Item, ...] = ()
    risks: tuple[_Risk, ...] = ()


class _PlatformFile(_Model):
    platform: str
    sources: tuple[_Source, ...] = Field(min_length=1)
    items: tuple[_Item, ...] = ()
    risks: tuple[_Risk, ...] = ()
    sites: tuple[_Overlay, ...] = ()


class _CommonFile(_Model):
    items: tuple[_Item, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class SourceRef:
    id: str
    title: str
    url: str
    official: bool
    note: str


@dataclass(frozen=True, slots=True)
class TemplateItem:
    key: str
    stage: Stage
    kind: ItemKind
    title_zh: str
    title_en: str
    owner: str
    due_days: int | None
    required: bool
    document_type: DocumentType | None
    measure: Measure | None
    sources: tuple[str, ...]
    unverified: bool
    note: str


@dataclass(frozen=True, slots=True)
class TemplateRisk:
    code: str
    severity: str
    title_zh: str
    title_en: str
    detail_zh: str
    detail_en: str
    sources: tuple[str, ...]
    unverified: bool

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = list(self.sources)
        return data


@dataclass(frozen=True, slots=True)
class LaunchTemplate:
    """The checklist for one platform and site, resolved from the data files."""

    platform: str
    site: str
    items: tuple[TemplateItem, ...]
    risks: tuple[TemplateRisk, ...]
    sources: tuple[SourceRef, ...]

    @property
    def content_hash(self) -> str:
        payload = json.dumps(
            {
                "items": [_item_json(i) for i in self.items],
                "risks": [r.as_json() for r in self.risks],
                "sources": [asdict(s) for s in self.sources],
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def _item_json(item: TemplateItem) -> dict[str, Any]:
    data = asdict(item)
    data["stage"] = item.stage.value
    data["kind"] = item.kind.value
    data["document_type"] = item.document_type.value if item.document_type else None
    data["measure"] = measure_json(item.measure)
    data["sources"] = list(item.sources)
    return data


def measure_json(measure: Measure | None) -> dict[str, Any] | None:
    if measure is None:
        return None
    return {
        "kind": measure.kind,
        "by_day": measure.by_day,
        "at_least": str(measure.at_least) if measure.at_least is not None else None,
    }


def _templates_dir() -> Traversable:
    return files("lianxing.launch.template_data")


def available_platforms() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml")
        for p in _templates_dir().iterdir()
        if p.name.endswith(".yaml") and not p.name.startswith("_")
    )


def _read_yaml(path: Traversable) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TemplateError([f"{path.name}: not valid YAML: {exc}"]) from exc


def _validation_problems(label: str, exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{label}: {loc}: value {err.get('input')!r}; {err['msg']}")
    return problems


def _check_item(label: str, item: _Item, sources: dict[str, _Source] | None) -> list[str]:
    where = f"{label}: item {item.key}"
    problems: list[str] = []
    if item.kind is ItemKind.MEASURE:
        if item.measure is None:
            problems.append(f"{where}: kind measure needs a `measure`")
        elif item.measure.kind not in MEASURE_KINDS:
            problems.append(
                f"{where}: measure.kind: value {item.measure.kind!r}; expected one of "
                f"{', '.join(MEASURE_KINDS)}"
            )
    elif item.measure is not None:
        problems.append(f"{where}: only kind measure may have a `measure`")
    if item.kind is ItemKind.DOCUMENT and item.document_type is None:
        problems.append(f"{where}: a document item needs a `document_type`")
    if sources is None:  # the common file: Lianxing's own steps
        return problems
    if not item.sources:
        problems.append(f"{where}: sources: empty; every platform item cites a source")
    unknown = [s for s in item.sources if s not in sources]
    if unknown:
        problems.append(f"{where}: sources: {', '.join(unknown)} not declared in `sources`")
    elif (
        item.sources and not item.unverified and not any(sources[s].official for s in item.sources)
    ):
        problems.append(f"{where}: all sources are unofficial; expected `unverified: true`")
    return problems


def _check_risk(label: str, risk: _Risk, sources: dict[str, _Source]) -> list[str]:
    unknown = [s for s in risk.sources if s not in sources]
    if unknown:
        return [f"{label}: risk {risk.code}: sources: {', '.join(unknown)} not declared"]
    if not risk.unverified and not any(sources[s].official for s in risk.sources):
        return [
            f"{label}: risk {risk.code}: all sources are unofficial; expected `unverified: true`"
        ]
    return []


def _to_item(model: _Item) -> TemplateItem:
    measure = (
        Measure(model.measure.kind, model.measure.by_day, model.measure.at_least)
        if model.measure
        else None
    )
    return TemplateItem(
        key=model.key,
        stage=model.stage,
        kind=model.kind,
        title_zh=model.title.zh,
        title_en=model.title.en,
        owner=model.owner,
        due_days=model.due_days,
        required=model.required,
        document_type=model.document_type,
        measure=measure,
        sources=model.sources,
        unverified=model.unverified,
        note=model.note.strip(),
    )


def _to_risk(model: _Risk) -> TemplateRisk:
    return TemplateRisk(
        code=model.code,
        severity=model.severity,
        title_zh=model.title.zh,
        title_en=model.title.en,
        detail_zh=model.detail.zh.strip(),
        detail_en=model.detail.en.strip(),
        sources=model.sources,
        unverified=model.unverified,
    )


@dataclass(frozen=True, slots=True)
class _Loaded:
    common: _CommonFile
    platform: _PlatformFile


def _load(platform: str) -> _Loaded:
    directory = _templates_dir()
    path = directory.joinpath(f"{platform}.yaml")
    if not path.is_file():
        raise NoTemplate(
            f"no launch template for platform {platform!r} yet; templates exist for "
            f"{', '.join(available_platforms())} / 该平台暂无开店模板"
        )
    problems: list[str] = []
    common_raw = _read_yaml(directory.joinpath("_common.yaml"))
    platform_raw = _read_yaml(path)
    try:
        common = _CommonFile.model_validate(common_raw)
    except ValidationError as exc:
        problems.extend(_validation_problems("_common.yaml", exc))
    try:
        model = _PlatformFile.model_validate(platform_raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(path.name, exc))
    if problems:
        raise TemplateError(problems)
    label = path.name
    if model.platform != platform:
        problems.append(f"{label}: platform: value {model.platform!r}; expected {platform!r}")
    sources = {s.id: s for s in model.sources}
    if len(sources) != len(model.sources):
        problems.append(f"{label}: sources: duplicate source ids")
    for item in common.items:
        problems.extend(_check_item("_common.yaml", item, None))
    catalog_sites = {s.code for s in load_catalog().platform(platform).sites}
    for item in model.items:
        problems.extend(_check_item(label, item, sources))
    for risk in model.risks:
        problems.extend(_check_risk(label, risk, sources))
    for i, overlay in enumerate(model.sites):
        for code in overlay.codes:
            if code not in catalog_sites:
                problems.append(
                    f"{label}: sites[{i}].codes: value {code!r}; expected a site of the "
                    f"platform catalog ({', '.join(sorted(catalog_sites))})"
                )
        for item in overlay.items:
            problems.extend(_check_item(f"{label}: sites[{i}]", item, sources))
        for risk in overlay.risks:
            problems.extend(_check_risk(f"{label}: sites[{i}]", risk, sources))
    for code in sorted(catalog_sites):
        keys = [i.key for i in _resolved_items(common, model, code)]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            problems.append(f"{label}: site {code}: item key {key!r} appears more than once")
    if problems:
        raise TemplateError(problems)
    return _Loaded(common, model)


def _resolved_items(common: _CommonFile, model: _PlatformFile, site: str) -> list[_Item]:
    items = list(common.items) + list(model.items)
    for overlay in model.sites:
        if site in overlay.codes:
            items.extend(overlay.items)
    return items


@functools.cache
def load_template(platform: str, site: str) -> LaunchTemplate:
    """The checklist for a catalog site, items in stage order (file order within a stage)."""
    loaded = _load(platform)
    model = loaded.platform
    items = [_to_item(i) for i in _resolved_items(loaded.common, model, site)]
    stage_rank = {s: n for n, s in enumerate(Stage)}
    items.sort(key=lambda i: stage_rank[i.stage])  # stable: keeps file order in a stage
    risks = [_to_risk(r) for r in model.risks]
    for overlay in model.sites:
        if site in overlay.codes:
            risks.extend(_to_risk(r) for r in overlay.risks)
    cited = {s for i in items for s in i.sources} | {s for r in risks for s in r.sources}
    sources = tuple(
        SourceRef(s.id, s.title, s.url, s.official, s.note.strip())
        for s in model.sources
        if s.id in cited
    )
    return LaunchTemplate(platform, site, tuple(items), tuple(risks), sources)


def check_all_templates() -> list[str]:
    """Load every template for every catalog site; the problems found (empty when valid)."""
    problems: list[str] = []
    for platform in available_platforms():
        try:
            _load(platform)
        except TemplateError as exc:
            problems.extend(exc.problems)
    return problems
