"""flownb's benchmarks: ``python -m benchmarks [--quick] [--only ...] [--output PATH]``.

One module per section of the table, each with ``rows(quick) -> list[Row]``: ``core``
(step overhead, SQLite, foreach, suspend/resume, import), ``render`` (SVG), ``live`` (the
notebook view), ``memory`` (peak RSS and growth, in fresh processes), ``scale_out`` (Dask,
optional) and ``peers`` (LangGraph, pydantic-graph, optional). ``common`` holds the row,
the timing helpers and the table printers; ``profiling`` runs one hot path under
pyinstrument.
"""
