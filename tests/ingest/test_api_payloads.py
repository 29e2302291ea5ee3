"""API payload files: detection by what is inside the envelope, and parse state per import."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from marketplace_helpers import FIXTURES, cli, new_store

from lianxing.config import Settings
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.reading import Source, json_key_paths, read_head
from lianxing.ingest.files.registry import FormatError, detect, get_format

API_FIXTURES = {
    "lazada.api": FIXTURES / "lazada" / "orders_and_items.json",
    "tiktok.api": FIXTURES / "tiktok" / "order_detail.json",
    "shopee.api": FIXTURES / "shopee" / "api_bundle.json",
    "aliexpress.api": FIXTURES / "aliexpress" / "order_list.json",
}


def test_key_paths_of_a_head_cut_off_mid_value() -> None:
    text = '[{"code": "0", "data": {"orders": [{"id": "1", "line_items": [{"sku_id": "ab'
    assert json_key_paths(text) == {
        "code",
        "data",
        "data.orders",
        "data.orders.id",
        "data.orders.line_items",
        "data.orders.line_items.sku_id",
    }


@pytest.mark.parametrize("format_id", sorted(API_FIXTURES))
def test_each_platform_fixture_is_detected_as_its_own_format(format_id: str) -> None:
    assert detect(read_head(API_FIXTURES[format_id])).id == format_id


def _envelope(data: dict[str, Any], *, message: bool) -> dict[str, Any]:
    envelope: dict[str, Any] = {"code": "0", "request_id": "0b1", "data": data}
    if message:
        envelope["message"] = "Success"
    return envelope


def test_same_envelope_told_apart_by_the_payload(tmp_path: Path) -> None:
    # Both envelopes with a "message" (Lazada sends one on some gateways): only the
    # keys inside decide.
    lazada_items: dict[str, Any] = {
        **_envelope({}, message=True),
        "data": [{"order_id": "16090", "order_item_id": "1001", "shop_sku": "2001_MY-3001"}],
    }
    tiktok_page = _envelope(
        {"orders": [{"id": "5764", "line_items": [{"id": "1", "sku_id": "9"}]}]}, message=True
    )
    for payload, expected in ((lazada_items, "lazada.api"), (tiktok_page, "tiktok.api")):
        path = tmp_path / f"{expected}.json"
        path.write_text(json.dumps(payload))
        assert detect(read_head(path)).id == expected


def test_envelope_without_telling_keys_asks_for_format(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text(json.dumps(_envelope({"orders": [], "count": 0}, message=True)))
    with pytest.raises(FormatError) as error:
        detect(read_head(path))
    message = str(error.value)
    assert "page.json: cannot tell which report this is; name it with --format" in message
    assert "possible: lazada.api, tiktok.api" in message


def test_cli_ambiguous_file_exits_2_naming_candidates(
    workspace_settings: Settings, tmp_path: Path
) -> None:
    store = new_store("lazada", "MY")
    path = tmp_path / "page.json"
    path.write_text(json.dumps(_envelope({"orders": [], "count": 0}, message=True)))
    code, _, err = cli("import", str(path), "--store", str(store))
    assert code == 2
    assert "possible: lazada.api, tiktok.api" in err and "--format" in err


def _context(name: str) -> ImportContext:
    return ImportContext(file=name, store_id=7, currency="SGD", buyer_salt=b"salt")


class _ThenRun(list[Any]):
    """A file's payload list that runs ``then`` once the format has iterated over it all,
    i.e. after its last ``read_payload`` and before its ``finish``."""

    def __init__(self, items: list[Any], then: Callable[[], None]) -> None:
        super().__init__(items)
        self.then = then

    def __iter__(self) -> Iterator[Any]:
        yield from super().__iter__()
        self.then()


class _InterleavingSource(Source):
    """A real file whose parse lets another parse run in the middle of its own."""

    def __init__(self, path: Path, meanwhile: Callable[[], None]) -> None:
        super().__init__(path)
        self.meanwhile = meanwhile

    def load_json(self) -> Any:
        return _ThenRun(super().load_json(), self.meanwhile)


def _collect(chunks: Iterable[tuple[str, pa.Table]]) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, table in chunks:
        tables[name].extend(table.to_pylist())
    return dict(tables)


@pytest.mark.parametrize("format_id", ["shopee.api", "lazada.api"])
def test_two_interleaved_parses_do_not_share_state(format_id: str, tmp_path: Path) -> None:
    """Two imports through the one shared format object (the web app runs several)."""
    fixture = API_FIXTURES[format_id]
    # The second file: the first with other order ids, so mixed-up state shows.
    other = tmp_path / "other.json"
    text = fixture.read_text()
    for old in ("16090", "16091", "240409ABC001", "240410XYZ002"):
        text = text.replace(old, f"9{old}")
    other.write_text(text)
    fmt = get_format(format_id)
    alone_a = _collect(fmt.parse(Source(fixture), _context(fixture.name)))
    alone_b = _collect(fmt.parse(Source(other), _context(other.name)))
    assert {r["order_id"] for r in alone_a["orders"]}.isdisjoint(
        r["order_id"] for r in alone_b["orders"]
    )

    ctx_a, ctx_b = _context(fixture.name), _context(other.name)
    during_a: dict[str, list[dict[str, Any]]] = {}

    def parse_b() -> None:  # begins, reads and finishes while A has read but not finished
        during_a.update(_collect(fmt.parse(Source(other), ctx_b)))

    interleaved_a = _collect(fmt.parse(_InterleavingSource(fixture, parse_b), ctx_a))
    assert during_a, "B did not run inside A"
    assert not ctx_a.problems and not ctx_b.problems, ctx_a.problems.lines()
    assert interleaved_a == alone_a
    assert during_a == alone_b


def test_shared_format_refuses_state() -> None:
    with pytest.raises(AttributeError, match="per-parse copy"):
        get_format("lazada.api")._item_facts = {}  # type: ignore[attr-defined]
