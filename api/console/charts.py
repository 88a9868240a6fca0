"""The overview's trend charts, drawn on the server as SVG with pygal (no script, no CDN).

Each chart is an ``<img>`` whose source is the SVG as a ``data:`` URI: an image document runs no
script and keeps its own styles, so the page's strict Content-Security-Policy stays as it is,
and the browser fetches nothing else. The numbers come from the same answers the API gives
(``DailyReportPublic`` per day); the table below the charts shows them exactly. Amounts become
floats here only as drawing coordinates.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pygal
from pygal.style import Style

from api.schemas.admin import DailyReportPublic

#: Colours that read apart for common colour blindness (Okabe–Ito), and fonts with Chinese.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#cbd2d9",
    colors=("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"),
    font_family="'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', "
    "sans-serif",
    title_font_size=16,
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
)
WIDTH, HEIGHT = 860, 340


@dataclass(frozen=True)
class Chart:
    """One chart: its title (the image's text alternative too) and the SVG as a data URI."""

    name: str
    title: str
    uri: str


Series = tuple[str, Callable[[DailyReportPublic], Decimal | None]]


def _draw(
    kind: type[pygal.graph.graph.Graph],
    title: str,
    days: Sequence[DailyReportPublic],
    series: Sequence[Series],
    no_data: str,
    **options: object,
) -> str:
    every = max(1, len(days) // 10)
    chart = kind(
        js=[],  # pygal's tooltips load a script from the web: none, so nothing is fetched
        style=STYLE,
        width=WIDTH,
        height=HEIGHT,
        title=title,
        show_dots=len(days) <= 31,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=every,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(series),
        truncate_legend=-1,
        truncate_label=-1,
        margin=12,
        no_data_text=no_data,
        **options,
    )
    chart.x_labels = [report.date[5:] for report in days]
    for label, pick in series:
        chart.add(label, [pick(report) for report in days])  # pygal plots Decimal as it is
    svg = chart.render(is_unicode=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def trend_charts(days: Sequence[DailyReportPublic], t: Callable[..., str]) -> list[Chart]:
    """The overview's five trend charts over ``days`` (oldest first), titled in ``t``'s language."""

    def amount(text: str) -> Decimal:
        return Decimal(text)

    def rate(report: DailyReportPublic) -> Decimal | None:
        value = report.totals.overdue_rate
        return None if value is None else Decimal(value) * 100

    net = [
        (t("fund_pay_sumamt"), lambda r: amount(r.totals.net.fund_pay_sumamt)),
        (
            t("acct_own"),
            lambda r: amount(r.totals.net.acct_pay) - amount(r.totals.net.acct_mulaid_pay),
        ),
        (t("acct_mulaid_pay"), lambda r: amount(r.totals.net.acct_mulaid_pay)),
        (t("psn_cash_pay"), lambda r: amount(r.totals.net.psn_cash_pay)),
    ]
    activity: list[Series] = [
        (t("visits_opened"), lambda r: Decimal(r.totals.visits_opened)),
        (t("bills_closed"), lambda r: Decimal(r.totals.bills_closed.count)),
    ]
    balances: list[Series] = [
        (t("outstanding"), lambda r: amount(r.totals.outstanding.amount)),
        (t("overdue"), lambda r: amount(r.totals.overdue.amount)),
    ]
    credit: list[Series] = [
        (t("credit_granted"), lambda r: amount(r.scheme.credit_granted)),
        (t("credit_in_use"), lambda r: amount(r.scheme.credit_in_use)),
    ]

    def draw(kind: Any, title_key: str, series: Sequence[Series], **options: object) -> Chart:
        title = t(title_key)
        return Chart(
            title_key.removeprefix("chart_"),
            title,
            _draw(kind, title, days, series, t("no_data"), **options),
        )

    return [
        draw(pygal.StackedBar, "chart_payers", net),
        draw(pygal.Line, "chart_activity", activity),
        draw(pygal.Line, "chart_balances", balances, fill=True),
        draw(pygal.Line, "chart_credit", credit),
        draw(
            pygal.Line,
            "chart_rate",
            [(t("overdue_rate"), rate)],
            value_formatter=lambda value: f"{value:.1f}%",
        ),
    ]
