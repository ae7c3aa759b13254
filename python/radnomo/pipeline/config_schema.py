"""Declarative settings: each configuration field says what it accepts; one validator checks them all.

A section of the study configuration is a frozen dataclass whose fields are
declared with :func:`setting` (or one of its shorthands)::

    @dataclass(frozen=True)
    class SplitSection(Section):
        section = "split"
        method: str = choice("stratified", "stratified", "manifest")
        test_fraction: float = number(0.3, "(0, 1)")
        seed: int = integer(20250101)

:meth:`Section.__post_init__` runs :func:`validate_fields`, which reads each
field's metadata (``kind``, ``choices``, ``interval``, ``nullable``) and raises
:class:`~radnomo.errors.InputError` ``"config split.test_fraction: must be a
number in (0, 1), not 1.5"`` — the message always names the YAML key.
Constraints between fields (e.g. ``data.categorical`` within
``data.clinical_variables``) go in the section's :meth:`Section.check`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from radnomo.errors import InputError


def fail(where: str, msg: str) -> None:
    """Raise the configuration error ``config <where>: <msg>``."""
    raise InputError(f"config {where}: {msg}")


def require(cond: bool, where: str, msg: str) -> None:
    """:func:`fail` unless ``cond``."""
    if not cond:
        fail(where, msg)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _nonempty_str(v) -> bool:
    return isinstance(v, str) and bool(v.strip())


#: kind -> (accepts the value?, what it must be, in words).
KINDS: dict[str, tuple[Any, str]] = {
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (is_int, "an integer"),
    "number": (is_num, "a number"),
    "text": (_nonempty_str, "a non-empty string"),
    "column": (_nonempty_str, "a column name"),
    "path": (_nonempty_str, "a file path"),
    "names": (lambda v: isinstance(v, tuple) and all(_nonempty_str(s) for s in v), "a list of names"),
    "params": (lambda v: (isinstance(v, dict) or _nonempty_str(v)),
               "a parameter file path or an inline PyRadiomics parameter mapping"),
    "choice": (lambda v: True, ""),
}


@dataclass(frozen=True)
class Interval:
    """A range such as ``(0, 1]`` or ``[3, inf)`` (parsed from that text)."""

    lo: float
    hi: float
    lo_open: bool
    hi_open: bool

    @classmethod
    def parse(cls, text: str) -> Interval:
        lo, hi = (p.strip() for p in text.strip()[1:-1].split(","))
        return cls(float(lo), float(hi), text.strip()[0] == "(", text.strip()[-1] == ")")

    def __contains__(self, v) -> bool:
        above = v > self.lo if self.lo_open else v >= self.lo
        below = v < self.hi if self.hi_open else v <= self.hi
        return above and below

    def describe(self, integer: bool) -> str:
        def fmt(x):
            return str(int(x)) if float(x).is_integer() else repr(x)

        if integer:
            if math.isinf(self.hi):
                return f">= {fmt(self.lo)}" if not self.lo_open else f"> {fmt(self.lo)}"
            return f"in {fmt(self.lo)}..{fmt(self.hi)}"
        return f"in {'(' if self.lo_open else '['}{fmt(self.lo)}, {fmt(self.hi)}{')' if self.hi_open else ']'}"


def setting(default: Any = dataclasses.MISSING, *, kind: str, choices=None, interval: str | None = None,
            nullable: bool = False, key: str | None = None, default_factory=dataclasses.MISSING):
    """A dataclass field with its constraint in ``metadata``.

    kind : one of :data:`KINDS`; choices : allowed values (``kind="choice"``);
    interval : ``"(0, 1]"``-style range of a number or integer; nullable : ``None`` allowed;
    key : the YAML key when it is not the field's name (``lambda_`` -> ``lambda``).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown setting kind {kind!r}")
    meta = {"kind": kind, "choices": tuple(choices) if choices else None,
            "interval": Interval.parse(interval) if interval else None, "nullable": nullable, "key": key}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def flag(default: bool):
    return setting(default, kind="bool")


def integer(default, interval: str | None = None, *, nullable: bool = False):
    return setting(default, kind="int", interval=interval, nullable=nullable)


def number(default, interval: str | None = None):
    return setting(default, kind="number", interval=interval)


def choice(default, *options, key: str | None = None):
    return setting(default, kind="choice", choices=options, key=key)


def names(default=()):
    return setting(tuple(default), kind="names")


def yaml_key(f: dataclasses.Field) -> str:
    """The YAML key of a section field."""
    return f.metadata.get("key") or f.name


def _quote_list(options) -> str:
    q = [repr(o) for o in options]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " or " + q[-1]


def expectation(meta: Mapping) -> str:
    """What a field must be, in words (``"an integer in 1..100"``, ``"'min' or '1se'"``)."""
    kind = meta["kind"]
    if kind == "choice":
        text = _quote_list(meta["choices"])
    else:
        text = KINDS[kind][1]
        if meta.get("interval") is not None:
            text += " " + meta["interval"].describe(kind == "int")
    return f"null or {text}" if meta.get("nullable") else text


def check_value(meta: Mapping, value: Any, where: str) -> Any:
    """``value`` checked against a field's metadata (lists of names become tuples); errors name ``where``."""
    kind = meta["kind"]
    if kind == "names":
        if value is None:
            value = ()
        elif isinstance(value, str):
            value = (value,)
        elif isinstance(value, list):
            value = tuple(value)
    if value is None and meta.get("nullable"):
        return value
    ok, _ = KINDS[kind]
    good = ok(value)
    if good and kind == "choice":
        good = not isinstance(value, bool) and value in meta["choices"]
    if good and meta.get("interval") is not None:
        good = value in meta["interval"]
    if not good:
        fail(where, f"must be {expectation(meta)}, not {value!r}")
    return value


def validate_fields(obj) -> None:
    """Check every declared field of section ``obj`` (frozen dataclass); normalise lists to tuples."""
    for f in dataclasses.fields(obj):
        if "kind" not in f.metadata:
            continue
        where = f"{obj.section}.{yaml_key(f)}" if obj.section else yaml_key(f)
        value = check_value(f.metadata, getattr(obj, f.name), where)
        object.__setattr__(obj, f.name, value)


class Section:
    """Base of the configuration sections: declared fields are validated on construction."""

    #: The section's YAML path (``"stats"``, ``"deep"``).
    section: ClassVar[str] = ""

    def __post_init__(self):
        validate_fields(self)
        self.check()

    def check(self) -> None:
        """Constraints between fields (override; raise with :func:`fail`)."""

    @classmethod
    def yaml_defaults(cls) -> dict[str, Any]:
        """YAML key -> default of the declared fields."""
        out = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[yaml_key(f)] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[yaml_key(f)] = f.default_factory()
        return out
