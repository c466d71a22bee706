"""Search spaces of a sweep: a grid of values, random draws from distributions, or both.

``--grid C=0.1,0.5,1.0`` lists values (each read as YAML; ``C=[0.1, 0.5]``
also works). ``--random C=loguniform:0.01:10`` draws from a distribution:
``uniform:LOW:HIGH``, ``loguniform:LOW:HIGH``, ``int:LOW:HIGH`` (both ends
included), ``normal:MEAN:SD`` or ``choice:a,b,c``. With both, every random
draw is combined with every grid point. Draws come from a seeded NumPy
generator; the seed is recorded, so the same sweep draws the same points.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import InvalidInput
from .parameters import parse_value

MAX_POINTS = 10_000
KINDS = ("uniform", "loguniform", "int", "normal", "choice")


def _split(item: str, option: str) -> tuple[str, str]:
    name, sep, rest = item.partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise InvalidInput(f"{option} expects NAME=VALUES such as C=0.1,0.5,1.0, not {item!r}.")
    return name, rest.strip()


def _values(name: str, text: str) -> list[Any]:
    if text.startswith("["):
        value = parse_value(name, text)
        if not isinstance(value, list):
            raise InvalidInput(f"The values of {name!r} must form a list, such as [0.1, 0.5].")
        return value
    return [parse_value(name, part.strip()) for part in text.split(",") if part.strip()]


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["C=0.1,0.5", "penalty=l1,l2"]`` -> ``{"C": [0.1, 0.5], "penalty": ["l1", "l2"]}``.

    Example:
        >>> parse_grid(["C=0.1,0.5", "penalty=l1,l2"])
        {'C': [0.1, 0.5], 'penalty': ['l1', 'l2']}
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, text = _split(item, "--grid")
        if name in grid:
            raise InvalidInput(f"--grid gives {name!r} twice; list all its values in one option.")
        grid[name] = _values(name, text)
    return grid


@dataclasses.dataclass(frozen=True)
class Distribution:
    """A distribution to draw one parameter from."""

    kind: str
    args: tuple[Any, ...]

    def __str__(self) -> str:
        if self.kind == "choice":
            return "choice:" + ",".join(str(a) for a in self.args)
        return ":".join([self.kind, *(f"{a:g}" for a in self.args)])

    def draw(self, rng: Any) -> Any:
        if self.kind == "choice":
            return self.args[int(rng.integers(len(self.args)))]
        a, b = self.args
        if self.kind == "uniform":
            return float(rng.uniform(a, b))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(a), math.log(b))))
        if self.kind == "int":
            return int(rng.integers(a, b + 1))
        return float(rng.normal(a, b))


def parse_distribution(name: str, text: str | Distribution | Sequence[Any]) -> Distribution:
    """``"loguniform:0.01:10"`` (or ``("loguniform", 0.01, 10)``) as a :class:`Distribution`.

    Example:
        >>> parse_distribution("C", "loguniform:0.01:10")
        Distribution(kind='loguniform', args=(0.01, 10.0))
    """
    if isinstance(text, Distribution):
        return text
    if isinstance(text, str):
        kind, _, rest = text.partition(":")
        parts: list[Any] = rest.split(",") if kind == "choice" else rest.split(":")
    elif isinstance(text, Sequence) and text:
        kind, parts = str(text[0]), list(text[1:])
    else:
        raise InvalidInput(
            f"Give the distribution of {name!r} as text such as 'loguniform:0.01:10'."
        )
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise InvalidInput(
            f"Unknown distribution {kind!r} for {name!r}; use one of {', '.join(KINDS)} "
            "(e.g. C=loguniform:0.01:10 or penalty=choice:l1,l2)."
        )
    if kind == "choice":
        options = tuple(
            parse_value(name, p.strip()) if isinstance(p, str) else p
            for p in parts
            if str(p).strip()
        )
        if not options:
            raise InvalidInput(
                f"choice for {name!r} needs at least one value, such as choice:l1,l2."
            )
        return Distribution(kind, options)
    try:
        low, high = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{kind} for {name!r} needs two numbers, such as {kind}:0.01:10."
        ) from None
    if kind == "int":
        if low != int(low) or high != int(high):
            raise InvalidInput(f"int for {name!r} needs whole numbers, such as int:1:10.")
        low, high = int(low), int(high)
    if kind == "normal":
        if not high > 0:
            raise InvalidInput(
                f"normal for {name!r} needs a positive standard deviation (normal:MEAN:SD)."
            )
    elif (kind == "int" and low > high) or (kind != "int" and not low < high):
        raise InvalidInput(f"{kind} for {name!r} needs LOW below HIGH, not {low:g} and {high:g}.")
    if kind == "loguniform" and low <= 0:
        raise InvalidInput(f"loguniform for {name!r} needs LOW above zero.")
    return Distribution(kind, (low, high))


def parse_random(items: Iterable[str]) -> dict[str, Distribution]:
    """Parse repeated ``--random NAME=DISTRIBUTION`` options.

    Example:
        >>> parse_random(["C=loguniform:0.01:10"])
        {'C': Distribution(kind='loguniform', args=(0.01, 10.0))}
    """
    out: dict[str, Distribution] = {}
    for item in items:
        name, text = _split(item, "--random")
        if name in out:
            raise InvalidInput(f"--random gives {name!r} twice.")
        out[name] = parse_distribution(name, text)
    return out


@dataclasses.dataclass
class Space:
    """The points a sweep runs, and how they were made (stored with the sweep)."""

    points: list[dict[str, Any]]
    grid: dict[str, list[Any]]
    random: dict[str, str]
    samples: int | None
    seed: int | None

    @property
    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for point in self.points:
            seen.update(dict.fromkeys(point))
        return list(seen)


def build(
    grid: Mapping[str, Sequence[Any]] | None = None,
    random: Mapping[str, Any] | None = None,
    samples: int | None = None,
    seed: int | None = None,
    points: Sequence[Mapping[str, Any]] | None = None,
) -> Space:
    """The sweep's points: the grid's product, ``samples`` random draws (times the grid), or
    explicit points.

    Example:
        >>> len(build({"C": [0.1, 1.0], "penalty": ["l1", "l2"]}).points)
        4
    """
    import numpy as np  # lazy: start-up time

    for name, values in (grid or {}).items():
        if isinstance(values, (str, bytes)) or not values:
            raise InvalidInput(f"The grid of {name!r} needs at least one value.")
    lists = {str(k): list(v) for k, v in (grid or {}).items()}
    dists = {str(k): parse_distribution(str(k), v) for k, v in (random or {}).items()}
    if set(lists) & set(dists):
        raise InvalidInput(
            f"{sorted(set(lists) & set(dists))[0]!r} is both in the grid and random; choose one."
        )
    if dists and (
        samples is None or isinstance(samples, bool) or not isinstance(samples, int) or samples < 1
    ):
        raise InvalidInput(
            "Random search needs --samples N, a whole number of draws of at least 1."
        )
    if samples is not None and not dists:
        raise InvalidInput("--samples only applies with --random distributions.")
    explicit = [dict(p) for p in points or []]
    if not (lists or dists or explicit):
        raise InvalidInput(
            "A sweep needs --grid NAME=VALUES or --random NAME=DISTRIBUTION (or explicit points)."
        )
    grid_points = [
        dict(zip(lists, combo, strict=True)) for combo in itertools.product(*lists.values())
    ]
    out = list(explicit)
    if dists:
        seed = secrets.randbits(32) if seed is None else seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidInput(f"The seed must be a whole number of zero or more, not {seed!r}.")
        rng = np.random.default_rng(seed)
        draws = [{name: d.draw(rng) for name, d in dists.items()} for _ in range(samples or 0)]
        out += [{**g, **d} for d in draws for g in (grid_points or [{}])]
    else:
        out += grid_points
    if len(out) > MAX_POINTS:
        raise InvalidInput(
            f"This sweep has {len(out):,} points; the limit is {MAX_POINTS:,}, so narrow the grid."
        )
    return Space(
        out,
        lists,
        {k: str(d) for k, d in dists.items()},
        samples if dists else None,
        seed if dists else None,
    )
