"""The shared ``MetaData`` every domain's tables belong to."""

from __future__ import annotations

from sqlalchemy import Column, MetaData

__all__ = ["blob_ref_columns", "metadata"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def blob_ref_columns() -> list[Column[str]]:
    """Every column that holds an artifact digest (marked ``info={"blob_ref": True}``)."""
    return [col for table in metadata.sorted_tables for col in table.c if col.info.get("blob_ref")]
