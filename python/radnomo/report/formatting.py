"""Number formatting of the report's tables (one rule for the whole report; see
:mod:`radnomo.report.tables`)."""

from __future__ import annotations

import math
import re
from typing import Any

DASH = "—"
EN = "–"


# ------------------------------------------------------------------------------------- formatting ---

def num(v: Any) -> float | None:
    """A float, or ``None`` for missing/blank/non-numeric values (infinities are kept)."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("", "na", "nan", "none", "null"):
            return None
        if s in ("inf", "+inf", "infinity"):
            return math.inf
        if s in ("-inf", "-infinity"):
            return -math.inf
        try:
            return float(s)
        except ValueError:
            return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def fmt_p(p: Any) -> str:
    """A p-value: ``<0.001``, ``>0.999`` or three decimals; ``—`` when missing."""
    v = num(p)
    if v is None or not math.isfinite(v):
        return DASH
    if v < 0.001:
        return "<0.001"
    if v > 0.999:
        return ">0.999"
    return f"{v:.3f}"


def fmt_num(v: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals (``−`` for minus is not used: CSV-comparable text)."""
    x = num(v)
    if x is None:
        return DASH
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    out = f"{x:.{digits}f}"
    return "0" + out[2:] if out.startswith("-0") and float(out) == 0 else out


def fmt_ci(est: Any, lower: Any, upper: Any, digits: int = 3) -> str:
    """``est (lower–upper)``; the estimate alone when the interval is missing."""
    e = fmt_num(est, digits)
    if e == DASH:
        return DASH
    if num(lower) is None or num(upper) is None:
        return e
    return f"{e} ({fmt_num(lower, digits)}{EN}{fmt_num(upper, digits)})"


def fmt_ratio(v: Any) -> str:
    """An odds ratio: two decimals below 10, one below 100, none above; ``<0.01``; ``∞``."""
    x = num(v)
    if x is None:
        return DASH
    if math.isinf(x):
        return "∞"
    if x < 0.01:
        return "<0.01"
    if x < 10:
        return f"{x:.2f}"
    if x < 100:
        return f"{x:.1f}"
    return f"{x:.0f}"


def fmt_or_ci(ratio: Any, lower: Any, upper: Any) -> str:
    """``OR (lower–upper)`` with :func:`fmt_ratio` for each part."""
    r = fmt_ratio(ratio)
    if r == DASH:
        return DASH
    if num(lower) is None or num(upper) is None:
        return r
    return f"{r} ({fmt_ratio(lower)}{EN}{fmt_ratio(upper)})"


def count(x: float, tol: float = 1e-6) -> int | None:
    r = round(x)
    return int(r) if abs(x - r) < tol * max(1.0, abs(x)) else None


def fmt_pct(prop: Any, numerator: Any = None, denominator: Any = None, lower: Any = None,
            upper: Any = None) -> str:
    """A proportion as a percentage with one decimal, with its 95% CI when given (``78.6% (55.2–91.4)``),
    else with its counts when both are whole numbers (``78.6% (11/14)``)."""
    p = num(prop)
    if p is None or not math.isfinite(p):
        return DASH
    out = f"{100 * p:.1f}%"
    lo, hi = num(lower), num(upper)
    if lo is not None and hi is not None:
        return f"{out} ({100 * lo:.1f}{EN}{100 * hi:.1f})"
    n, d = num(numerator), num(denominator)
    if n is not None and d is not None:
        ni, di = count(n), count(d)
        if ni is not None and di is not None and di > 0:
            return f"{out} ({ni}/{di})"
    return out


def int_or_none(v: Any) -> int | None:
    x = num(v)
    return None if x is None or not math.isfinite(x) else int(x)


def parse_ci(text: str) -> tuple[float, float | None, float | None]:
    """The numbers of a formatted ``est (lower–upper)`` cell (for tests and consumers)."""
    m = re.fullmatch(r"\s*(-?[\d.]+)%?(?:\s*\((-?[\d.]+)\s*" + EN + r"\s*(-?[\d.]+)\))?\s*", text)
    if not m:
        raise ValueError(f"not an 'estimate (lower–upper)' cell: {text!r}")
    g = m.groups()
    return float(g[0]), (float(g[1]) if g[1] else None), (float(g[2]) if g[2] else None)
