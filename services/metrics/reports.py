"""Period reports: every KPI and the Decision 766 index over a closed range of days and the range of equal length
before it, exact from the day rollups; JSON, or CSV and XLSX (openpyxl) with Vietnamese names and headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from openpyxl import Workbook
from pydantic import BaseModel, Field

from services.metrics.core.kpis import USAGE_RATE, KpiDefinition, ratio
from services.metrics.core.periods import DayRange, PeriodError, closed_range
from services.metrics.index766 import Index766Service, Inputs, PeriodScores, current_units
from services.metrics.index766_api import ScorecardView, scorecard_view
from shared.events import CODE_PATTERN
from shared.refdata import UnitLevel

# GUESS: the Vietnamese names reports use for the KPIs (the portal's wording where it has one).
KPI_NAMES_VI = {
    "online_submission_rate": "Tỷ lệ hồ sơ nộp trực tuyến",
    "full_online_rate": "Tỷ lệ hồ sơ trực tuyến toàn trình",
    "online_service_usage_rate": "Tỷ lệ DVC trực tuyến phát sinh hồ sơ trực tuyến",
    "online_result_rate": "Tỷ lệ trả kết quả điện tử",
    "digitization_rate": "Tỷ lệ số hóa hồ sơ",
    "essential_online_rate": "Tỷ lệ hồ sơ trực tuyến của dịch vụ thiết yếu",
    "on_time_rate": "Tỷ lệ giải quyết đúng hạn",
    "satisfaction_rate": "Tỷ lệ hài lòng",
    "feedback_satisfaction_rate": "Tỷ lệ hài lòng về xử lý phản ánh kiến nghị",
    "feedback_on_time_rate": "Tỷ lệ phản ánh kiến nghị xử lý đúng hạn",
    "online_payment_rate": "Tỷ lệ thanh toán trực tuyến",
}
LEVEL_NAMES_VI = {"province": "Tỉnh/thành phố", "department": "Sở, ban, ngành", "district": "Cấp huyện",
                  "commune": "Cấp xã"}  # fmt: skip
HEADERS = ("Mã đơn vị", "Tên đơn vị", "Cấp", "Mã chỉ tiêu", "Chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ", "Điểm",
           "Điểm tối đa", "Tử số kỳ trước", "Mẫu số kỳ trước", "Tỷ lệ kỳ trước", "Điểm kỳ trước")  # fmt: skip
"""One row per unit and figure: each KPI, each 766 indicator (`766.<group>.<indicator>`), group and the total."""
LONGEST_DAYS = 400  # the counts' retention (metrics_bucket_retention_days' default)


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class KpiFigure(BaseModel):
    """One KPI over a range."""

    kpi: str
    numerator: int
    denominator: int
    ratio: float | None


class RangeFigures(BaseModel):
    """Every KPI and the index of a unit over one range of days."""

    first_day: date
    last_day: date
    kpis: list[KpiFigure]
    index766: ScorecardView


class UnitReport(BaseModel):
    """A unit's figures over the range and the previous one of equal length."""

    unit_code: str
    unit_name: str
    level: str
    current: RangeFigures
    previous: RangeFigures


class Report(BaseModel):
    """A period report."""

    first_day: date = Field(description="`from`, inclusive (Vietnam day).")
    last_day: date = Field(description="`to`, inclusive.")
    previous_first_day: date
    previous_last_day: date
    formula_version: str
    units: list[UnitReport]


def kpi_figures(inputs: Inputs, definitions: Sequence[KpiDefinition]) -> list[KpiFigure]:
    """Every KPI from a unit's rolled-up inputs (numerators and denominators summed, never ratios averaged)."""
    figures = []
    for definition in definitions:
        if definition.name == USAGE_RATE:
            numerator = int(inputs.get("procedures_used_online") or 0)
            denominator = int(inputs.get("procedures_offered_online") or 0)
        else:
            numerator, denominator = definition.evaluate({k: int(v or 0) for k, v in inputs.items()})
        figures.append(KpiFigure(kpi=definition.name, numerator=numerator, denominator=denominator,
                                 ratio=ratio(numerator, denominator)))  # fmt: skip
    return figures


def _figures(scores: PeriodScores, code: str, definitions: Sequence[KpiDefinition]) -> RangeFigures:
    label = f"{scores.first_day.isoformat()}..{scores.last_day.isoformat()}"
    return RangeFigures(first_day=scores.first_day, last_day=scores.last_day,
                        kpis=kpi_figures(scores.inputs[code], definitions),
                        index766=scorecard_view(scores.cards[code], unit_code=code, period=label))  # fmt: skip


def report_rows(report: Report, *, names_vi: dict[str, str]) -> list[list[object]]:
    """The report as table rows under `HEADERS`."""
    rows: list[list[object]] = []
    for unit in report.units:
        head = [unit.unit_code, unit.unit_name, LEVEL_NAMES_VI.get(unit.level, unit.level)]
        for now, before in zip(unit.current.kpis, unit.previous.kpis, strict=True):
            rows.append([*head, now.kpi, KPI_NAMES_VI.get(now.kpi, now.kpi), now.numerator, now.denominator,
                         now.ratio, None, None, before.numerator, before.denominator, before.ratio, None])  # fmt: skip
        for group, previous in zip(unit.current.index766.groups, unit.previous.index766.groups, strict=True):
            for ind, was in zip(group.indicators, previous.indicators, strict=True):
                code = f"766.{group.group}.{ind.indicator}"
                rows.append([*head, code, names_vi.get(code, code), ind.numerator, ind.denominator, ind.ratio,
                             ind.points, ind.max_points, was.numerator, was.denominator, was.ratio,
                             was.points])  # fmt: skip
            code = f"766.{group.group}"
            rows.append([*head, code, names_vi.get(code, code), None, None, None, group.points, group.max_points,
                         None, None, None, previous.points])  # fmt: skip
        now_card, was_card = unit.current.index766, unit.previous.index766
        rows.append([*head, "766.total", "Chỉ số 766 (tổng điểm)", None, None, now_card.coverage, now_card.total,
                     now_card.max_total, None, None, was_card.coverage, was_card.total])  # fmt: skip
    return rows


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheet programs read Vietnamese as UTF-8


def _xlsx(report: Report, rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "Báo cáo"
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row)
    about = book.create_sheet("Thông tin")
    about.append(["Kỳ báo cáo", f"{report.first_day.isoformat()} .. {report.last_day.isoformat()}"])
    about.append(["Kỳ trước", f"{report.previous_first_day.isoformat()} .. {report.previous_last_day.isoformat()}"])
    about.append(["Công thức chỉ số 766", report.formula_version])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_router(service: Index766Service, *, definitions: Sequence[KpiDefinition]) -> APIRouter:
    """`GET /v1/report` over the index service's inputs."""
    router = APIRouter(prefix="/v1", tags=["reports"])
    names_vi = {f"766.{g.group}": g.name_vi for g in service.formula.groups}
    names_vi |= {f"766.{g.group}.{i.indicator}": i.name_vi for g in service.formula.groups for i in g.indicators}

    @router.get("/report", response_model=None)
    async def report(
        first_day: Annotated[date, Query(alias="from", description="First Vietnam day, inclusive.")],
        last_day: Annotated[date, Query(alias="to", description="Last Vietnam day, inclusive; before today.")],
        unit: Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)] = None,
        level: UnitLevel | None = None,
        format: ReportFormat = ReportFormat.JSON,
    ) -> Report | Response:
        """Every KPI and the 766 index over a closed range and the previous range of equal length, for one unit
        or every unit of a level that exists on the range's last day."""
        try:
            days = closed_range(first_day, last_day, today=service.today(), longest_days=LONGEST_DAYS)
        except PeriodError as error:
            raise HTTPException(status_code=422, detail=f"query parameters from/to: {error}") from error
        if (unit is None) == (level is None):
            raise HTTPException(status_code=422, detail="query parameters unit/level: give exactly one of them")
        previous: DayRange = days.previous()
        now = await service.scores(days.first_day, days.last_day)
        before = await service.scores(previous.first_day, previous.last_day)
        if unit is not None:
            if unit not in now.units:
                raise HTTPException(status_code=404, detail=f"query parameter unit: no unit {unit!r} in the unit tree")
            codes: Sequence[str] = [unit]
        else:
            codes = current_units(now, level=level.value if level else "", day=days.last_day)
        body = Report(
            first_day=days.first_day, last_day=days.last_day, previous_first_day=previous.first_day,
            previous_last_day=previous.last_day, formula_version=service.formula.version,
            units=[UnitReport(unit_code=c, unit_name=now.units[c].name, level=now.units[c].level,
                              current=_figures(now, c, definitions), previous=_figures(before, c, definitions))
                   for c in codes],
        )  # fmt: skip
        if format is ReportFormat.JSON:
            return body
        name = f"civicpulse-report-{unit or (level.value if level else '')}-{days.first_day}-{days.last_day}"
        rows = report_rows(body, names_vi=names_vi)
        if format is ReportFormat.CSV:
            return Response(_csv(rows), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})  # fmt: skip
        return Response(
            _xlsx(body, rows),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )

    return router
