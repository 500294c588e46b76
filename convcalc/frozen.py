"""A faster `__init__` for the frozen, slotted dataclasses built once per layer.

CPython 3.11's generated `__init__` of a frozen dataclass stores each field with
`object.__setattr__(self, "name", value)`, a lookup by name per field; a network of 10,000
layers builds a few hundred thousand such objects. `fast_init` replaces it with one that stores
through each slot's own descriptor: the same parameters, defaults, order and `__post_init__`,
the class still frozen (assignment after construction raises as before), about twice as fast.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give `cls` (a frozen dataclass with slots) the faster `__init__`; returns `cls`."""
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__ or any(
            not f.init for f in params):
        raise TypeError(f"fast_init needs a slotted dataclass whose fields are all in __init__: "
                        f"{cls.__name__}")
    space: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in params:
        space[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not dataclasses.MISSING:
            space[f"_default_{f.name}"] = f.default
            text = f"{f.name}=_default_{f.name}"
            value = f.name
        elif f.default_factory is not dataclasses.MISSING:
            space[f"_factory_{f.name}"] = f.default_factory
            text = f"{f.name}=_MISSING"
            value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
        else:
            text = f.name
            value = f.name
        (keyword if f.kw_only else positional).append(text)
        body.append(f"    _set_{f.name}(self, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    exec(f"def __init__({signature}):\n" + "\n".join(body or ["    pass"]), space)
    init = space["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
