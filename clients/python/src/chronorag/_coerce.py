"""Defensive JSON coercion used by the result models.

A newer server may add fields (ignored here) or, in the worst case, send a value of an unexpected
type; these helpers never raise: a value of the wrong type becomes the default. Only the fields a
model knows are read; the whole object stays available as the model's ``raw`` attribute.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

T = TypeVar("T")

JsonObject = Mapping[str, Any]

_EMPTY: Dict[str, Any] = {}


def obj(v: Any) -> JsonObject:
    """``v`` if it is a JSON object, else an empty one."""
    return v if isinstance(v, Mapping) else _EMPTY


def to_int(v: Any, default: int = 0) -> int:
    """An integer (bools are not integers here)."""
    if isinstance(v, bool):
        return default
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return default


def opt_int(v: Any) -> Optional[int]:
    """An integer or ``None``."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def to_float(v: Any, default: float = 0.0) -> float:
    """A number as float."""
    if isinstance(v, bool):
        return default
    if isinstance(v, (int, float)):
        return float(v)
    return default


def opt_float(v: Any) -> Optional[float]:
    """A number as float, or ``None``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def to_str(v: Any, default: str = "") -> str:
    """A string."""
    return v if isinstance(v, str) else default


def opt_str(v: Any) -> Optional[str]:
    """A string or ``None``."""
    return v if isinstance(v, str) else None


def to_bool(v: Any, default: bool = False) -> bool:
    """A boolean."""
    return v if isinstance(v, bool) else default


def items(v: Any, parse: Callable[[Any], T]) -> Tuple[T, ...]:
    """A JSON array parsed element by element (a non-array is empty)."""
    if not isinstance(v, list):
        return ()
    return tuple(parse(x) for x in v)


def strs(v: Any) -> Tuple[str, ...]:
    """An array of strings (other elements dropped)."""
    if not isinstance(v, list):
        return ()
    return tuple(x for x in v if isinstance(x, str))


def ints(v: Any) -> Tuple[int, ...]:
    """An array of integers (other elements dropped)."""
    if not isinstance(v, list):
        return ()
    return tuple(x for x in v if isinstance(x, int) and not isinstance(x, bool))


def int_map(v: Any) -> Dict[str, int]:
    """An object of integer values (``counts``)."""
    return {k: x for k, x in obj(v).items() if isinstance(x, int) and not isinstance(x, bool)}


def copy_obj(v: Any) -> Dict[str, Any]:
    """A shallow copy of a JSON object (empty for a non-object)."""
    return dict(obj(v))


def as_list(v: Any) -> List[Any]:
    """``v`` if it is a JSON array, else an empty list."""
    return v if isinstance(v, list) else []
