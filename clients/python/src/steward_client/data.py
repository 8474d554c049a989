"""Turning data frames into the bytes the ingestion routes read.

Accepted: a ``pyarrow.Table`` or ``RecordBatch``, a pandas ``DataFrame``, a polars
``DataFrame``, any other object that exports an Arrow stream (``__arrow_c_stream__``, the Arrow
PyCapsule interface), and a mapping of column names to sequences. pandas
and polars are never imported here: objects are recognised by their type's module, so neither is
a dependency. A Spark ``DataFrame`` is converted by the caller (``toPandas()``, or ``toArrow()``
from Spark 4) so that the driver's memory use stays the caller's decision.
"""

from __future__ import annotations

from typing import Any, Dict, Literal, Optional, Tuple

import pyarrow as pa
import pyarrow.parquet as pq

#: ``arrow``: Arrow IPC stream; ``parquet``: a Parquet file.
Format = Literal["arrow", "parquet"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"


def _module(obj: Any) -> str:
    return type(obj).__module__ or ""


def to_arrow(data: Any) -> pa.Table:
    """Returns ``data`` as a ``pyarrow.Table``.

    Args:
        data: a ``pyarrow.Table`` or ``RecordBatch``, a pandas or polars ``DataFrame``, an object
            with ``__arrow_c_stream__``, or a mapping of column name to values.

    Raises:
        TypeError: for anything else (a Spark or lazy data frame: collect it first).
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = _module(data)
    if module.startswith("pandas"):
        if not hasattr(data, "columns"):
            raise TypeError("a pandas Series is one column: send a DataFrame (series.to_frame())")
        # The index is not data: a column that matters (prediction_id) belongs in the frame
        # (df.reset_index()).
        return pa.Table.from_pandas(data, preserve_index=False)
    if module.startswith("polars"):
        if type(data).__name__ == "LazyFrame":
            raise TypeError("a polars LazyFrame is not data yet: send lazy_frame.collect()")
        if hasattr(data, "to_arrow") and hasattr(data, "columns"):
            table = data.to_arrow()
            if isinstance(table, pa.Table):
                return table
    if module.startswith("pyspark"):
        raise TypeError(
            "a Spark DataFrame is not sent directly: send spark_df.toPandas() (or "
            "spark_df.toArrow() on Spark 4), or send each partition's rows from the executors"
        )
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if isinstance(data, dict):
        return pa.table(data)
    raise TypeError(
        f"cannot send a {type(data).__module__}.{type(data).__name__}: send a pyarrow Table or "
        "RecordBatch, a pandas or polars DataFrame, or a dict of columns"
    )


def to_array(values: Any) -> pa.Array:
    """One column's values (a list, NumPy array, pandas or polars Series, Arrow array)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if _module(values).startswith("polars") and hasattr(values, "to_arrow"):
        return to_array(values.to_arrow())
    if isinstance(values, (str, bytes)):
        raise TypeError("a column's values must be a sequence, not one string")
    return pa.array(values if hasattr(values, "__len__") else list(values))


def with_column(table: pa.Table, name: str, values: Any) -> pa.Table:
    """``table`` with the column ``name`` appended.

    Raises:
        ValueError: the table already has that column, or the lengths differ.
    """
    if name in table.column_names:
        raise ValueError(f"the data already has a {name!r} column: give it there or here, not both")
    column = to_array(values)
    if len(column) != table.num_rows:
        raise ValueError(
            f"{name}: {len(column)} values for {table.num_rows} rows; give one per row"
        )
    return table.append_column(name, column)


def serialize(table: pa.Table, format: Format) -> Tuple[memoryview, str]:
    """The table's bytes in ``format`` and their content type.

    ``arrow`` writes an Arrow IPC stream (no conversion on either side: the fastest); ``parquet``
    a Parquet file (compressed: smaller over a slow link).
    """
    sink = pa.BufferOutputStream()
    if format == "arrow":
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        content_type = ARROW_STREAM
    elif format == "parquet":
        pq.write_table(table, sink)
        content_type = PARQUET
    else:
        raise ValueError(f"format must be 'arrow' or 'parquet', not {format!r}")
    return memoryview(sink.getvalue()), content_type


def prepare(
    data: Any,
    *,
    columns: Optional[Dict[str, Any]] = None,
) -> pa.Table:
    """``data`` as a table, with the extra ``columns`` (name to values) appended in order."""
    table = to_arrow(data) if data is not None else None
    for name, values in (columns or {}).items():
        if values is None:
            continue
        if table is None:
            table = pa.table({name: to_array(values)})
        else:
            table = with_column(table, name, values)
    if table is None:
        raise ValueError("nothing to send: give the data")
    return table
