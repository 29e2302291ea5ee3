"""Quotes: the price book (shipped default, editable copy in the workspace) and requests."""

from __future__ import annotations

import shutil
from pathlib import Path

from lianxing.contracts.document import jsonable, read_yaml
from lianxing.domain.contracts import ContractInputError
from lianxing.domain.quotes import PriceBook, Quote, parse_price_book, price

DEFAULT_PRICE_BOOK = Path(__file__).parent / "data" / "price_book.yaml"
WORKSPACE_PRICE_BOOK = "price_book.yaml"


def price_book_path(home: Path | None, explicit: Path | None = None) -> Path:
    """An explicit file, else the workspace copy if there is one, else the shipped default."""
    if explicit is not None:
        return explicit
    if home is not None and (home / WORKSPACE_PRICE_BOOK).is_file():
        return home / WORKSPACE_PRICE_BOOK
    return DEFAULT_PRICE_BOOK


def init_price_book(home: Path) -> Path:
    """Copy the shipped price book into the workspace (an existing copy is kept)."""
    target = home / WORKSPACE_PRICE_BOOK
    if not target.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEFAULT_PRICE_BOOK, target)
    return target


def load_price_book(path: Path) -> PriceBook:
    document = read_yaml(path)
    try:
        return parse_price_book(jsonable(document.data))
    except ContractInputError as exc:
        raise document.errors(exc.problems) from None


def quote_file(request: Path, book_path: Path) -> Quote:
    book = load_price_book(book_path)
    document = read_yaml(request)
    try:
        return price(book, jsonable(document.data))
    except ContractInputError as exc:
        raise document.errors(exc.problems) from None
