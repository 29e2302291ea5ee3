"""``lianxing quote FILE.yaml [--json] [--price-book FILE]`` and ``--init-price-book``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lianxing.cli.common import EXIT_BAD_INPUT, emit_json
from lianxing.cli.root import app
from lianxing.config import get_settings
from lianxing.contracts.document import DocumentError
from lianxing.contracts.quotes import init_price_book, price_book_path, quote_file


@app.command("quote")
def quote(
    file: Annotated[Path | None, typer.Argument(help="quote request YAML")] = None,
    price_book: Annotated[
        Path | None, typer.Option("--price-book", help="price book YAML (default: workspace copy)")
    ] = None,
    init: Annotated[
        bool, typer.Option("--init-price-book", help="copy the default price book to the workspace")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the quote as JSON")] = False,
) -> None:
    """Price a service request: every fee a line, total, schedule, missing information. 报价"""
    home = get_settings().home_dir
    if init:
        print(f"价目表 / price book: {init_price_book(home)}")
        if file is None:
            return
    if file is None:
        print("error: FILE is required (a quote request YAML)", file=sys.stderr)
        raise typer.Exit(EXIT_BAD_INPUT)
    book = price_book_path(home, price_book)
    try:
        result = quote_file(file, book)
    except DocumentError as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    body = result.to_json()
    body["price_book"] = str(book)
    if as_json:
        emit_json(body)
        return
    print(f"报价 / quote ({result.currency}; price book {book})")
    for line in body["lines"]:
        suffix = f" × {line['months']} 月/months" if line["recurring"] == "monthly" else ""
        print(
            f"  {line['name']['zh']} / {line['name']['en']}: {line['quantity']} × "
            f"{line['unit_price']} = {line['amount']}{suffix}"
        )
    totals = body["totals"]
    print(
        f"一次性 one-time {totals['one_time']} · 每月 monthly {totals['monthly']} × "
        f"{totals['months']} · 合计 total {totals['total']} {result.currency}"
    )
    print("付款安排 / payment schedule:")
    for step in body["payment_schedule"]:
        monthly = f" + {step['monthly']}/月 × {step['times']}" if "times" in step else ""
        print(f"  {step['label']['zh']} / {step['label']['en']}: {step['amount']}{monthly}")
    if body["missing_information"]:
        print("精确报价还需要 / still needed for an exact quote:")
        for item in body["missing_information"]:
            print(f"  - {item['zh']} / {item['en']}")
