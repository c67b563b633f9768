"""The geometry of a series chart, as plain data a template draws as SVG (no JavaScript, no CDN).

:func:`series_chart` takes points (a date with its precision, a value, a label) and returns where each
point, tick and line goes; ``templates/includes/series_chart.html`` draws it. It knows no record: the
caller turns its rows into :class:`Point` s. Dates keep their precision on the x axis: a year-only date
sits in the middle of its year and a month-only date in the middle of its month, never on 1 January;
the axis is marked in whole years. The y axis starts at zero and ends at a round number.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from core.records import Precision, format_partial_date, plain_decimal


@dataclass(frozen=True)
class Point:
    """One value of a series: ``when`` with its ``precision``, ``value`` (exact), ``label`` (as printed).
    ``key`` is the caller's (an outcome's slug, say), handed back on the drawn point."""

    when: datetime.date
    precision: str
    value: Decimal
    label: str = ""
    key: str = ""
    marked: bool = False  # drawn as "reported differently"


def position(when: datetime.date, precision: str) -> float:
    """Where a date sits on a time axis, in years (2019.0 is the start of 2019): a year-only date in the
    middle of its year, a month-only date in the middle of its month, a day at its noon."""
    year_start = datetime.date(when.year, 1, 1)
    days = (datetime.date(when.year + 1, 1, 1) - year_start).days
    if precision == Precision.YEAR:
        return when.year + 0.5
    if precision == Precision.MONTH:
        month_start = datetime.date(when.year, when.month, 1)
        month_end = datetime.date(when.year + (when.month == 12), when.month % 12 + 1, 1)
        middle = (month_start - year_start).days + (month_end - month_start).days / 2
        return when.year + middle / days
    return when.year + ((when - year_start).days + 0.5) / days


def nice_ceiling(value: Decimal) -> tuple[Decimal, Decimal]:
    """The round top of an axis at or above ``value`` and its step, the smallest of 1, 2 or 5 times a power
    of ten that reaches ``value`` in at most five steps (3.4亿 → 4亿 in steps of 1亿)."""
    if value <= 0:
        return Decimal(1), Decimal("0.2")
    for exponent in range(value.adjusted() - 1, value.adjusted() + 2):
        for base in (1, 2, 5):
            step = Decimal(base).scaleb(exponent)
            steps = (value / step).to_integral_value(rounding=ROUND_CEILING)
            if steps <= 5:
                return steps * step, step
    raise AssertionError("unreachable: 10^(adjusted+1) always fits")


def compact_number(value: Decimal) -> str:
    """A tick label: 亿 and 万 as the articles write them (``4亿``, ``2.5万``, ``300``)."""
    for word, size in (("亿", Decimal(100_000_000)), ("万", Decimal(10_000))):
        if abs(value) >= size:
            return f"{plain_decimal(round(value / size, 2))}{word}"
    return plain_decimal(round(value, 2))


def series_chart(points, *, width: int = 640, height: int = 260, margin_left: int = 56) -> dict | None:
    """Where everything of a chart of ``points`` goes, for a ``width`` × ``height`` SVG; None with no point.

    Returns ``width``, ``height``, ``plot`` (the plotting box: ``left``, ``right``, ``top``, ``bottom``;
    ``tick_x`` where the value labels end, ``tick_end`` where the year marks end, ``date_y`` the year
    labels' baseline), ``line`` (the polyline's ``x,y`` pairs, in date order), ``points`` (each
    :class:`Point` as ``x``, ``y``, ``box_x``, ``box_y`` (a square's corner), ``label``, ``label_x``,
    ``label_y``, ``anchor``, ``date``, ``key``, ``marked``), ``x_ticks`` (each year: ``x`` of its start,
    ``label_x`` of its middle, ``label``, empty when years are skipped) and ``y_ticks`` (``y``, ``label``).
    """
    points = sorted(points, key=lambda p: (position(p.when, p.precision), p.value))
    if not points:
        return None
    left, right, top, bottom = margin_left, width - 16, 24, height - 32
    first_year = min(p.when.year for p in points)
    last_year = max(p.when.year for p in points) + 1
    span = last_year - first_year
    peak, step = nice_ceiling(max(max(p.value for p in points), Decimal(0)))

    def x(at: float) -> float:
        return round(left + (right - left) * (at - first_year) / span, 1)

    def y(value: Decimal) -> float:
        return round(bottom - (bottom - top) * float(value / peak), 1)

    xs = [x(position(p.when, p.precision)) for p in points]
    drawn = []
    for point, px in zip(points, xs, strict=True):
        py = y(point.value)
        if xs.count(px) > 1:
            # Two articles on one date: each label beside its point, not above it, so they do not overlap.
            anchor = "end" if right - px < 80 else "start"
            label_x, label_y = round(px - 10 if anchor == "end" else px + 10, 1), round(py + 4, 1)
        else:
            anchor = "start" if px - left < 40 else "end" if right - px < 40 else "middle"
            label_x, label_y = px, round(py - 10, 1)
        drawn.append({
            "x": px, "y": py, "label": point.label, "key": point.key, "marked": point.marked,
            "date": format_partial_date(point.when, point.precision), "anchor": anchor,
            "label_x": label_x, "label_y": label_y, "box_x": round(px - 5, 1), "box_y": round(py - 5, 1),
        })
    every = max(1, -(-span // 12))  # at most about twelve year labels
    x_ticks = [{"x": x(year), "label_x": x(year + 0.5), "label": str(year) if (year - first_year) % every == 0 else ""}
               for year in range(first_year, last_year)]
    y_ticks, level = [], Decimal(0)
    while level <= peak:
        y_ticks.append({"y": y(level), "label": compact_number(level)})
        level += step
    return {
        "width": width, "height": height,
        "plot": {"left": left, "right": right, "top": top, "bottom": bottom,
                 "tick_x": left - 6, "tick_end": bottom + 5, "date_y": bottom + 20},
        "line": " ".join(f"{p['x']},{p['y']}" for p in drawn),
        "points": drawn, "x_ticks": x_ticks, "y_ticks": y_ticks,
    }
