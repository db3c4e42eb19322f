#!/usr/bin/env python3
"""Opens a `curate run` output folder with pyarrow, DuckDB and polars and checks
that every table has its columns with their natural types; with Hugging Face
`datasets` installed, loads kept and rejected as two splits of one dataset.

usage: python3 scripts/ci/check_parquet_readers.py OUT
"""
import glob
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1]
KEPT = {
    "id": pa.string(),
    "source_file": pa.string(),
    "source_line": pa.uint64(),
    "format": pa.string(),
    "task": pa.string(),
    "raw": pa.string(),
}
REJECTED = dict(KEPT, stage=pa.string(), rule=pa.string(), value=pa.float64(), threshold=pa.float64(),
                reason=pa.string(), duplicate_of=pa.string(), similarity=pa.float64())
MALFORMED = {"source_file": pa.string(), "source_line": pa.uint64(), "error": pa.string(), "raw": pa.string()}

counts = {}
for table, expect in [("kept", KEPT), ("rejected", REJECTED), ("malformed", MALFORMED)]:
    t = pq.read_table(f"{out}/{table}")
    for col, typ in expect.items():
        assert t.schema.field(col).type == typ, (table, col, t.schema.field(col).type)
    if table != "malformed":
        msg = t.schema.field("messages").type
        assert pa.types.is_list(msg) and pa.types.is_struct(msg.value_type), msg
        assert [f.name for f in msg.value_type] == ["role", "content"], msg
        assert pa.types.is_list(t.schema.field("tags").type)
        pii = t.schema.field("pii").type
        assert [f.name for f in pii.value_type] == ["turn", "start", "end", "type"], pii
    if table == "kept":
        stripped = t.schema.field("stripped_lines").type
        assert pa.types.is_list(stripped) and stripped.value_type == pa.string(), stripped
    n_duck = duckdb.sql(f"select count(*) from read_parquet('{out}/{table}/*.parquet')").fetchall()[0][0]
    df = pl.read_parquet(f"{out}/{table}/*.parquet")
    assert len(df) == t.num_rows == n_duck, (table, len(df), t.num_rows, n_duck)
    counts[table] = t.num_rows

if counts["kept"]:
    role = duckdb.sql(
        f"select messages[1].role from read_parquet('{out}/kept/*.parquet') limit 1").fetchall()[0][0]
    assert role in ("system", "user"), role
    first = pl.read_parquet(f"{out}/kept/*.parquet").select(pl.col("messages").list.len()).row(0)[0]
    assert first >= 1
if counts["rejected"]:
    rules = duckdb.sql(
        f"select rule, count(*) from read_parquet('{out}/rejected/*.parquet') group by rule order by rule").fetchall()
    print("rejected by rule:", rules)
# kept and rejected share one schema: one DuckDB union, and two splits of one
# Hugging Face dataset.
kept_schema = pq.read_schema(sorted(glob.glob(f"{out}/kept/*.parquet"))[0])
assert kept_schema == pq.read_schema(sorted(glob.glob(f"{out}/rejected/*.parquet"))[0]), "kept and rejected schemas differ"
both = duckdb.sql(f"select count(*) from read_parquet(['{out}/kept/*.parquet', '{out}/rejected/*.parquet'])").fetchall()[0][0]
assert both == counts["kept"] + counts["rejected"], both
# Metrics columns are SQL identifiers: no quotes needed.
duckdb.sql(f"select avg(quality__empty_response) from read_parquet('{out}/metrics/*.parquet')").fetchall()
pl.read_parquet(f"{out}/metrics/*.parquet").select(pl.col("quality__empty_response").mean())
try:
    import datasets
except ImportError:
    datasets = None
if datasets is not None:
    ds = datasets.load_dataset("parquet", data_files={"kept": f"{out}/kept/*.parquet",
                                                      "rejected": f"{out}/rejected/*.parquet"})
    assert ds["kept"].num_rows == counts["kept"] and ds["rejected"].num_rows == counts["rejected"], ds
    assert ds["kept"].features == ds["rejected"].features
    print("datasets loads kept and rejected as two splits:", {k: v.num_rows for k, v in ds.items()})
print("pyarrow, duckdb and polars read", counts)
