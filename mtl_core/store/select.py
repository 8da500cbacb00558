"""Which runs a read of the store asks for: the ``WHERE`` clause of ``RunStore.runs``.

Why reads narrow in SQL: ``RunStore.runs`` parses every row's config, summary and
provenance, so a read of the whole store grows with it, and a class's store holds hundreds
of runs within a lesson or two (a lesson trains 5 to 54 runs on fresh seeds each time a
student presses Run). Two reads sat on hot paths: a Train click's identical-run check,
before its run starts, and a lesson's or a comparison's live panel, about every second for
each page that shows one. Now the check reads only the runs of its configs' seeds (no
other run can be identical) and a panel only its own runs. With 1,200 runs stored the
check takes 5.2 ms instead of 131 ms when the runs spread over many seeds (when every run
shares the seed it still reads them all), and the panel 1.5 ms instead of 42 ms
(``bench/bench_store_reads.py``).
"""

from __future__ import annotations

from collections.abc import Iterable


def runs_where(
    owner: str | None = None,
    sweep: int | None = None,
    ids: Iterable[int] | None = None,
    seeds: Iterable[int] | None = None,
) -> tuple[str, list]:
    """The clause (empty, or starting with `` WHERE``) and its parameters: only
    ``owner``'s runs, only ``sweep``'s, only ``ids``, only those whose config has one of
    ``seeds``, for each one given; an empty ``ids`` or ``seeds`` selects none."""
    where, params = [], []
    for column, value in (("owner", owner), ("sweep", sweep)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value if column == "owner" else int(value))
    for column, values in (("id", ids), ("json_extract(config, '$.seed')", seeds)):
        if values is not None:
            values = sorted({int(v) for v in values})
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    return (" WHERE " + " AND ".join(where) if where else ""), params
