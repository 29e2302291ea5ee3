"""XLSX rendering: one sheet per section; numbers stay numbers, with Excel formats."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from lianxing.reports.model import ReviewReport
from lianxing.reports.text import (
    delivery_label,
    excel_format,
    label,
    severity_label,
    status_label,
)

_HEADER_FILL = PatternFill("solid", fgColor="EEF2F8")
_BOLD = Font(bold=True)
PERCENT = "0.0%"
MONEY = "#,##0.00"
RATE = "0.##########"  # an exchange rate to 10 decimals, as the statement states it

# Sheet keys in workbook order; titles come from text.LABELS (Excel allows 31 characters).
SHEETS = (
    "kpis",
    "trends",
    "launch",
    "contracts",
    "tickets",
    "alerts",
    "integrity",
    "sources",
    "commentary",
)


def _sheet(book: Workbook, key: str, lang: str) -> Worksheet:
    sheet = book.create_sheet(label(key, lang)[:31])
    return sheet


def _header(sheet: Worksheet, titles: Sequence[str]) -> None:
    sheet.append(list(titles))
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = _BOLD, _HEADER_FILL
    sheet.freeze_panes = sheet.cell(row=sheet.max_row + 1, column=1)


def _row(sheet: Worksheet, values: Sequence[Any], formats: dict[int, str] | None = None) -> None:
    sheet.append([_excel(v) for v in values])
    for index, number_format in (formats or {}).items():
        sheet.cell(row=sheet.max_row, column=index + 1).number_format = number_format


def _excel(value: Any) -> Any:
    # Excel has no timezone-aware datetimes; ours are naive UTC already.
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return value


def _widths(sheet: Worksheet) -> None:
    for index, column in enumerate(sheet.columns, start=1):
        longest = max((len(str(c.value)) for c in column if c.value is not None), default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, longest + 2), 60)


def render_xlsx(report: ReviewReport, lang: str = "zh") -> bytes:
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)

    def t(key: str) -> str:
        return label(key, lang)

    sheet = _sheet(book, "kpis", lang)
    sheet.append([t("title"), report.scope_label, report.period])
    sheet.append([t("dates"), report.start, report.last_day])
    sheet.append([t("currency"), report.currency, t("timezone"), report.timezone])
    sheet.append([t("as_of"), report.as_of - dt.timedelta(days=1)])
    _header(
        sheet,
        [
            "id",
            t("kpi"),
            t("unit"),
            t("actual"),
            t("previous"),
            t("vs_previous"),
            t("last_year"),
            t("vs_last_year"),
            t("target"),
            t("ramp"),
            t("achievement"),
            t("status"),
            t("pace"),
            t("definition"),
        ],
    )
    for k in report.kpis:
        number = excel_format(k.unit_kind, k.kpi_id)
        target = k.target
        _row(
            sheet,
            [
                k.kpi_id,
                k.name.get(lang),
                k.unit,
                k.value,
                k.previous,
                k.previous_change,
                k.last_year,
                k.last_year_change,
                target.effective if target else None,
                target.ramp_factor if target else None,
                target.achievement if target else None,
                status_label(target.status, lang) if target else None,
                target.pace if target else None,
                k.definition,
            ],
            {
                3: number,
                4: number,
                5: PERCENT,
                6: number,
                7: PERCENT,
                8: number,
                9: PERCENT,
                10: PERCENT,
                12: number,
            },
        )
    _widths(sheet)

    sheet = _sheet(book, "trends", lang)
    if report.trends:
        _header(sheet, [t("kpi"), t("unit"), *report.trends[0].labels])
        for trend in report.trends:
            number = excel_format(trend.unit_kind, trend.kpi_id)
            _row(
                sheet,
                [trend.name.get(lang), trend.unit, *trend.values],
                {i + 2: number for i in range(len(trend.values))},
            )
    _widths(sheet)

    sheet = _sheet(book, "launch", lang)
    _header(
        sheet,
        [
            t("store"),
            t("launch_date"),
            t("current_stage"),
            t("stage"),
            t("done"),
            "total",
            t("blocked_by"),
            t("overdue"),
            t("expiring"),
        ],
    )
    for launch in report.launch:
        for stage in launch.stages:
            _row(
                sheet,
                [
                    launch.store_name,
                    launch.launch_date,
                    launch.current_stage.get(lang) if launch.current_stage else None,
                    stage.name.get(lang),
                    stage.done,
                    stage.total,
                    launch.blocked_by,
                    [o.get(lang) for o in launch.overdue],
                    launch.expiring_documents,
                ],
                {1: "yyyy-mm-dd"},
            )
    _widths(sheet)

    sheet = _sheet(book, "contracts", lang)
    _header(
        sheet,
        [
            "contract",
            t("clause"),
            t("kpi"),
            t("outcome"),
            t("met_on"),
            t("fee"),
            t("status"),
            t("amount"),
            t("currency"),
            t("due_date"),
            t("explanation"),
            t("settlement_amount"),
            t("settlement_currency"),
            t("rate"),
            t("rate_date"),
            t("estimate"),
            t("left_out"),
            t("left_out_reason"),
        ],
    )
    # Columns 11.. (settlement amount to the reason a fake order was left out) came later:
    # appended, so the earlier columns keep their places.
    settlement_formats = {11: MONEY, 13: RATE, 14: "yyyy-mm-dd", 16: MONEY}
    for contract in report.contracts:
        if contract.problem:
            _row(sheet, [contract.number, None, None, t("problem"), *[None] * 6, contract.problem])
        for clause in contract.clauses:
            _row(
                sheet,
                [
                    contract.number,
                    f"{clause.kind} {clause.id}",
                    clause.kpi,
                    clause.outcome,
                    clause.met_on,
                    *[None] * 5,
                    clause.explanation.get(lang),
                    *[None] * 6,
                    clause.fake_orders.get(lang) if clause.fake_orders else None,
                ],
                {4: "yyyy-mm-dd"},
            )
        for line in contract.settlement:
            settled = line.settled
            _row(
                sheet,
                [
                    contract.number,
                    None,
                    None,
                    None,
                    None,
                    line.name,
                    line.status,
                    line.amount,
                    line.currency,
                    line.due_date,
                    line.type,
                    settled.amount if settled else None,
                    settled.currency if settled else None,
                    settled.rate if settled else None,
                    settled.rate_date if settled else None,
                    (t("estimate") if settled.estimate else None) if settled else None,
                    line.left_out.amount if line.left_out else None,
                    line.left_out.reason.get(lang) if line.left_out else None,
                ],
                {7: MONEY, 9: "yyyy-mm-dd", **settlement_formats},
            )
        total = contract.settlement_total
        if total is not None:
            for key in ("due", "not_yet_due", "pending_milestone", "refunds_owed"):
                _row(
                    sheet,
                    [
                        contract.number,
                        *[None] * 4,
                        t("settlement_total"),
                        t(f"total_{key}"),
                        *[None] * 4,
                        getattr(total, key),
                        total.currency,
                    ],
                    {11: MONEY},
                )
    _widths(sheet)

    sheet = _sheet(book, "tickets", lang)
    if report.tickets is not None:
        tickets = report.tickets
        _header(
            sheet,
            [
                t("opened"),
                t("resolved"),
                t("open_at_end"),
                t("responded"),
                t("in_time"),
                t("breaches"),
            ],
        )
        _row(
            sheet,
            [
                tickets.opened,
                tickets.resolved,
                tickets.open_at_end,
                tickets.responded,
                tickets.responded_in_time,
                len(tickets.breaches),
            ],
        )
        sheet.append([])
        sheet.append([t("ticket"), t("kind"), t("due_at"), t("fulfilled_at")])
        for breach in tickets.breaches:
            _row(
                sheet,
                [
                    f"#{breach.ticket_id} [{breach.severity}] {breach.title}",
                    breach.kind,
                    breach.due_at,
                    breach.fulfilled_at,
                ],
                {2: "yyyy-mm-dd hh:mm", 3: "yyyy-mm-dd hh:mm"},
            )
    else:
        sheet.append([t("no_contracts")])
    _widths(sheet)

    sheet = _sheet(book, "alerts", lang)
    if report.alerts:
        _header(
            sheet,
            [
                t("alert"),
                t("rule"),
                t("kind"),
                t("severity"),
                t("store"),
                t("explanation"),
                t("fired_value"),
                t("fired_at"),
                t("resolved_at"),
                t("acked"),
                t("delivery"),
            ],
        )
        for alert in report.alerts:
            _row(
                sheet,
                [
                    alert.alert_id,
                    alert.rule,
                    alert.kind,
                    severity_label(alert.severity, lang),
                    alert.store_id,
                    alert.summary.get(lang),
                    alert.value,
                    alert.fired_at,
                    alert.resolved_at,
                    alert.acked_at,
                    delivery_label(alert.delivery_status, lang),
                ],
                {7: "yyyy-mm-dd hh:mm", 8: "yyyy-mm-dd hh:mm", 9: "yyyy-mm-dd hh:mm"},
            )
    else:
        sheet.append([t("no_alerts")])
    _widths(sheet)

    sheet = _sheet(book, "integrity", lang)
    _header(
        sheet,
        [
            t("store"),
            t("flagged_share"),
            t("confirmed_share"),
            t("rule"),
            t("subject"),
            t("score"),
            t("status"),
            t("orders"),
            "GMV %",
            t("explanation"),
        ],
    )
    for status in report.integrity:
        _row(
            sheet,
            [status.store_name, status.flagged_share, status.confirmed_share],
            {1: PERCENT, 2: PERCENT},
        )
        for flag in status.flags:
            _row(
                sheet,
                [
                    status.store_name,
                    None,
                    None,
                    flag.rule_name,
                    flag.subject,
                    flag.score,
                    flag.status,
                    flag.orders,
                    flag.gmv_share,
                    flag.explanation.get(lang),
                ],
                {5: "0.00", 8: PERCENT},
            )
    _widths(sheet)

    sheet = _sheet(book, "sources", lang)
    _header(
        sheet, [t("source"), t("tables"), t("rows"), t("batches"), t("last_refreshed"), t("files")]
    )
    for source in report.sources:
        _row(
            sheet,
            [
                source.source,
                source.tables,
                source.rows,
                source.batches,
                source.last_refreshed,
                source.files,
            ],
            {2: "#,##0", 4: "yyyy-mm-dd hh:mm"},
        )
    _widths(sheet)

    sheet = _sheet(book, "commentary", lang)
    sheet.append([t("commentary")])
    sheet["A1"].font = _BOLD
    sheet.append([report.commentary or t("commentary_empty")])
    sheet["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 100
    for note in report.notes:
        sheet.append([note.get(lang)])

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
