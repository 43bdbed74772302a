"""Dask graph layers that build a request's tasks from its plan on demand.

A year of 100 channels is tens of thousands of chunks, and each chunk has a
read task, a finishing task and one task per output variable. Building all of
them when the dataset opens would cost seconds and a pickled graph of several
hundred bytes per chunk. These layers keep only the plan. Dask requests tasks
when it culls the graph before a compute, and only the tasks that the
requested blocks need are then built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from dask._task_spec import Task, TaskRef
from dask.highlevelgraph import Layer, MaterializedLayer
from dask.typing import Key

logger = logging.getLogger(__name__)

__all__ = ["FieldLayer", "UnitLayer"]


class _PlanLayer(Layer):
    """A layer whose keys and tasks are computed from a small description."""

    # Tasks are dask Task objects, never legacy tuples.
    has_legacy_tasks = False

    def is_materialized(self) -> bool:
        return False

    def get_output_keys(self) -> set[Key]:
        return set(self._keys())

    def __getitem__(self, key: Key) -> Task:
        if not (isinstance(key, tuple) and self._owns(key)):
            raise KeyError(key)
        function, arguments = self._task(key)
        return Task(key, function, *arguments)

    def __iter__(self) -> Iterator[Key]:
        return self._keys()

    def __len__(self) -> int:
        return self._count()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self._owns(key)

    def get_dependencies(self, key: Key, all_hlg_keys: Collection[Key]) -> set[Key]:
        return set(self._dependencies(key)) if isinstance(key, tuple) else set()

    def cull(
        self, keys: set[Key], all_hlg_keys: Collection[Key]
    ) -> tuple[Layer, Mapping[Key, set[Key]]]:
        """Build the tasks that ``keys`` need and no others."""
        tasks: dict[Key, Task] = {}
        external: dict[Key, set[Key]] = {}
        pending = [key for key in keys if key in self]
        while pending:
            key = pending.pop()
            if key in tasks:
                continue
            tasks[key] = self[key]
            inside: set[Key] = set()
            outside: set[Key] = set()
            for dependency in self.get_dependencies(key, all_hlg_keys):
                (inside if dependency in self else outside).add(dependency)
            external[key] = outside
            pending.extend(inside - tasks.keys())
        logger.debug("built %d of %d tasks of %s", len(tasks), len(self), self)
        return MaterializedLayer(tasks, annotations=self.annotations), external

    def _keys(self) -> Iterator[tuple]:
        raise NotImplementedError

    def _count(self) -> int:
        raise NotImplementedError

    def _owns(self, key: tuple) -> bool:
        raise NotImplementedError

    def _task(self, key: tuple) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        raise NotImplementedError

    def _dependencies(self, key: tuple) -> tuple[tuple, ...]:
        raise NotImplementedError


class UnitLayer(_PlanLayer):
    """Read, neighbour and finishing tasks of a grid of (group, day) units.

    Keys are ``(read_name, group, day)``, ``(neighbour_name, group)`` and
    ``(chunk_name, group, day)``. ``build`` makes the function and arguments
    of each; its arguments refer to other keys through
    :class:`dask._task_spec.TaskRef`, and ``depends`` lists those keys.

    Parameters
    ----------
    names : tuple of str
        The read, neighbour and chunk key names.
    groups, days : int
        Shape of the unit grid.
    build : callable
        ``build(kind, group, day)`` returns ``(function, arguments)`` for
        ``kind`` in ``"read"``, ``"neighbour"`` (``day`` is ``None``) and
        ``"chunk"``. It must be picklable (a bound method of a plan-holding
        object or a module-level function).
    """

    def __init__(
        self,
        names: tuple[str, str, str],
        groups: int,
        days: int,
        build: Callable[[str, int, int | None], tuple[Callable[..., Any], tuple]],
    ) -> None:
        super().__init__()
        self.read_name, self.neighbour_name, self.chunk_name = names
        self.groups = groups
        self.days = days
        self.build = build

    def __repr__(self) -> str:
        return f"UnitLayer({self.chunk_name!r}, groups={self.groups}, days={self.days})"

    def _kind(self, key: tuple) -> str | None:
        name = key[0] if key else None
        if name == self.neighbour_name and len(key) == 2:
            return "neighbour" if 0 <= key[1] < self.groups else None
        if name not in (self.read_name, self.chunk_name) or len(key) != 3:
            return None
        if not (0 <= key[1] < self.groups and 0 <= key[2] < self.days):
            return None
        return "read" if name == self.read_name else "chunk"

    def _owns(self, key: tuple) -> bool:
        return self._kind(key) is not None

    def _keys(self) -> Iterator[tuple]:
        for group in range(self.groups):
            yield (self.neighbour_name, group)
            for day in range(self.days):
                yield (self.read_name, group, day)
                yield (self.chunk_name, group, day)

    def _count(self) -> int:
        return self.groups * (1 + 2 * self.days)

    def _task(self, key: tuple) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        kind = self._kind(key)
        assert kind is not None
        day = key[2] if kind != "neighbour" else None
        return self.build(kind, key[1], day)

    def _dependencies(self, key: tuple) -> tuple[tuple, ...]:
        if self._kind(key) != "chunk":
            return ()
        group, day = key[1], key[2]
        previous = (
            (self.read_name, group, day - 1) if day else (self.neighbour_name, group)
        )
        # NOTE: the last day reads no following object. On a grid off the
        # whole seconds, the sample nearest its last index may be the first
        # one of the next day's object, and that index then stays NaN.
        following = ((self.read_name, group, day + 1),) if day + 1 < self.days else ()
        return ((self.read_name, group, day), previous, *following)


class FieldLayer(_PlanLayer):
    """Blocks of one output variable, each a field of a chunk task's result.

    Keys are ``(name, group, day)``; block ``(group, day)`` is
    ``pick(<chunk result>, field)``.
    """

    def __init__(
        self,
        name: str,
        chunk_name: str,
        field: str,
        groups: int,
        days: int,
        pick: Callable[[Any, str], Any],
    ) -> None:
        super().__init__()
        self.name = name
        self.chunk_name = chunk_name
        self.field = field
        self.groups = groups
        self.days = days
        self.pick = pick

    def __repr__(self) -> str:
        return f"FieldLayer({self.name!r}, groups={self.groups}, days={self.days})"

    def _owns(self, key: tuple) -> bool:
        return (
            len(key) == 3
            and key[0] == self.name
            and 0 <= key[1] < self.groups
            and 0 <= key[2] < self.days
        )

    def _keys(self) -> Iterator[tuple]:
        for group in range(self.groups):
            for day in range(self.days):
                yield (self.name, group, day)

    def _count(self) -> int:
        return self.groups * self.days

    def _task(self, key: tuple) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        chunk = TaskRef((self.chunk_name, key[1], key[2]))
        return self.pick, (chunk, self.field)

    def _dependencies(self, key: tuple) -> tuple[tuple, ...]:
        return ((self.chunk_name, key[1], key[2]),)
