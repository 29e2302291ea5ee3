"""Labels in Chinese and English, and how numbers are written for people.

Every renderer takes its words and number formats from here, so the HTML, the PDF and the
XLSX say the same thing in the same way.
"""

from __future__ import annotations

import datetime as dt

LANGS = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    "title": ("经营复盘报告", "Review report"),
    "week": ("周报", "weekly"),
    "month": ("月报", "monthly"),
    "quarter": ("季报", "quarterly"),
    "scope": ("范围", "Scope"),
    "stores": ("店铺", "Stores"),
    "period": ("期间", "Period"),
    "dates": ("日期", "Dates"),
    "timezone": ("时区", "Timezone"),
    "currency": ("币种", "Currency"),
    "as_of": ("数据截至", "Data up to"),
    "generated": ("生成时间", "Generated"),
    "kpis": ("KPI 矩阵", "KPI matrix"),
    "kpi": ("指标", "KPI"),
    "actual": ("实际", "Actual"),
    "previous": ("上期", "Previous"),
    "vs_previous": ("环比", "vs previous"),
    "last_year": ("去年同期", "Last year"),
    "vs_last_year": ("同比", "vs last year"),
    "target": ("目标", "Target"),
    "ramp": ("爬坡", "Ramp"),
    "achievement": ("达成率", "Achievement"),
    "status": ("状态", "Status"),
    "pace": ("进度预测", "Pace"),
    "definition": ("定义版本", "Definition"),
    "unit": ("单位", "Unit"),
    "trends": ("趋势", "Trends"),
    "comparison": ("对比", "Comparison"),
    "launch": ("开店进度", "Launch progress"),
    "stage": ("阶段", "Stage"),
    "current_stage": ("当前阶段", "Current stage"),
    "launch_date": ("上线日期", "Launch date"),
    "done": ("完成", "Done"),
    "blocked_by": ("阻塞项", "Blocked by"),
    "overdue": ("逾期事项", "Overdue items"),
    "expiring": ("即将到期文件", "Expiring documents"),
    "contracts": ("合同里程碑与结算", "Contract milestones and settlement"),
    "clause": ("条款", "Clause"),
    "outcome": ("结果", "Outcome"),
    "met_on": ("达成日", "Met on"),
    "explanation": ("说明", "Explanation"),
    "fee": ("费用", "Fee"),
    "amount": ("金额", "Amount"),
    "due_date": ("到期日", "Due"),
    "statement_as_of": ("结算截至", "Statement as of"),
    "rate": ("汇率", "Exchange rate"),
    "rate_date": ("汇率日期", "Rate date"),
    "estimate": ("估算", "estimate"),
    "settlement_amount": ("结算金额", "Settlement amount"),
    "settlement_currency": ("结算币种", "Settlement currency"),
    "settlement_total": ("结算合计", "Settlement total"),
    "total_due": ("应付", "due"),
    "total_not_yet_due": ("未到期", "not yet due"),
    "total_pending_milestone": ("待里程碑", "pending a milestone"),
    "total_refunds_owed": ("应退", "refunds owed"),
    "left_out": ("未计入（已确认的刷单）", "Left out (confirmed fake orders)"),
    "left_out_reason": ("未计入原因", "Why left out"),
    "tickets": ("服务工单与 SLA", "Service tickets and SLA"),
    "opened": ("新开", "Opened"),
    "resolved": ("已解决", "Resolved"),
    "open_at_end": ("期末未结", "Open at end"),
    "responded": ("已首次回复", "Responded"),
    "in_time": ("按时回复", "Responded in time"),
    "breaches": ("SLA 违约", "SLA breaches"),
    "ticket": ("工单", "Ticket"),
    "kind": ("类型", "Kind"),
    "due_at": ("应在", "Due at"),
    "fulfilled_at": ("实际", "Fulfilled at"),
    "alerts": ("本期触发的告警", "Alerts fired"),
    "alert": ("告警", "Alert"),
    "severity": ("级别", "Severity"),
    "fired_value": ("触发值", "Value when fired"),
    "fired_at": ("首次触发", "First fired"),
    "resolved_at": ("恢复时间", "Resolved"),
    "acked": ("确认", "Acknowledged"),
    "delivery": ("通知状态", "Delivery"),
    "no_alerts": ("本期没有告警触发", "no alert fired in this period"),
    "integrity": ("数据可信度", "Data integrity"),
    "flagged_share": ("可疑销售额占比", "Flagged share of GMV"),
    "confirmed_share": ("已确认占比", "Confirmed share"),
    "rule": ("规则", "Rule"),
    "subject": ("对象", "Subject"),
    "score": ("分数", "Score"),
    "orders": ("订单", "Orders"),
    "sources": ("数据来源", "Data sources"),
    "source": ("来源", "Source"),
    "tables": ("数据表", "Tables"),
    "rows": ("行数", "Rows"),
    "batches": ("批次", "Batches"),
    "last_refreshed": ("最近更新", "Last refreshed"),
    "files": ("文件", "Files"),
    "commentary": ("复盘说明", "Commentary"),
    "commentary_empty": ("（在此填写复盘说明）", "(commentary goes here)"),
    "notes": ("说明", "Notes"),
    "other_targets": ("其他目标", "Other targets"),
    "none": ("无", "none"),
    "no_launch": ("没有开店计划", "no launch plan"),
    "no_contracts": ("没有涉及这些店铺的合同", "no contract covers these stores"),
    "no_flags": ("本期无可疑标记", "no flags in this period"),
    "snapshot": ("快照", "Snapshot"),
    "store": ("店铺", "Store"),
    "total": ("合计", "Total"),
    "problem": ("无法计算", "Not computed"),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "good": ("达标", "on target"),
    "warning": ("预警", "warning"),
    "bad": ("未达标", "off target"),
    "unknown": ("未知", "unknown"),
}

SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "info": ("提示", "info"),
    "warning": ("警告", "warning"),
    "critical": ("严重", "critical"),
}

DELIVERY_LABELS: dict[str, tuple[str, str]] = {
    "none": ("未配置通知", "no channel"),
    "pending": ("待发送", "pending"),
    "sent": ("已发送", "sent"),
    "failed": ("发送失败", "failed"),
}

# Ratios read as multiples rather than percentages.
MULTIPLE_KPIS = frozenset({"roas"})


def label(key: str, lang: str) -> str:
    zh, en = LABELS[key]
    return zh if lang == "zh" else en


def both(key: str) -> str:
    zh, en = LABELS[key]
    return f"{zh} / {en}"


def status_label(status: str | None, lang: str) -> str:
    if status is None:
        return "—"
    zh, en = STATUS_LABELS.get(status, (status, status))
    return zh if lang == "zh" else en


def severity_label(severity: str, lang: str) -> str:
    zh, en = SEVERITY_LABELS.get(severity, (severity, severity))
    return zh if lang == "zh" else en


def delivery_label(status: str, lang: str) -> str:
    zh, en = DELIVERY_LABELS.get(status, (status, status))
    return zh if lang == "zh" else en


def format_value(value: float | None, unit_kind: str, kpi_id: str = "") -> str:
    """A KPI value as a person reads it: money with separators, ratios as percentages."""
    if value is None:
        return "—"
    if kpi_id in MULTIPLE_KPIS:
        return f"{value:,.2f}×"
    if unit_kind == "ratio":
        return f"{value * 100:,.2f}%"
    if unit_kind == "count":
        return f"{value:,.0f}"
    if unit_kind in ("hours", "score"):
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def format_rate(value: float | None) -> str:
    """An exchange rate as the statement states it (up to 10 decimals, no trailing zeros)."""
    if value is None:
        return "—"
    return f"{value:.10f}".rstrip("0").rstrip(".")


def format_change(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+,.1f}%"


def format_share(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:,.1f}%"


def format_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


# Excel number formats matching ``format_value`` (the cell keeps the exact number).
def excel_format(unit_kind: str, kpi_id: str = "") -> str:
    if kpi_id in MULTIPLE_KPIS:
        return '0.00"×"'
    if unit_kind == "ratio":
        return "0.00%"
    if unit_kind == "count":
        return "#,##0"
    if unit_kind in ("hours", "score"):
        return "#,##0.0"
    return "#,##0.00"
