"""Lists of values bound as one parameter on PostgreSQL, so a statement's text (and the plan
the server keeps for it) is the same for any number of values: an array literal the server parses
(:func:`text_array`), or a JSON array made an array in SQL (:func:`in_listed`, :func:`listed`).
SQLite binds an expanding ``IN``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, any_, bindparam, cast, func, select
from sqlalchemy.orm import QueryableAttribute, Session


def text_array(values: Iterable[str]) -> str:
    """``values`` as a PostgreSQL array literal (``{"a","b"}``), for a parameter cast to
    ``text[]`` (or another string type's array): each element quoted, its backslashes and
    double quotes escaped. Formatted here in one pass of the interpreter's string methods;
    psycopg's list dumper checks and dumps each element in Python, 1.5 ms of CPU for an array of
    2,000 ids, and a sweep's batch binds several."""
    return "{" + ",".join(_quoted(value) for value in values) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def in_listed(
    column: ColumnElement[Any] | QueryableAttribute[Any], name: str, *, postgres: bool
) -> ColumnElement[bool]:
    """``column IN`` the list bound as ``name`` (:func:`listed`), for a statement built once.

    On PostgreSQL the list is one JSON array, made an array by the server
    (``= ANY(ARRAY(SELECT json_array_elements_text(…)))``, evaluated once, then the indexes as for
    a list): the statement's text is then the same for any number of values, so neither
    SQLAlchemy expands a placeholder per value nor psycopg parses, nor the server plans, a new
    text for each count (a group of charges reads its patients, standings and catalogue items
    with as many values as the group has, and each count was a text of its own, prepared on each
    connection only after five uses). Elsewhere an expanding ``IN``.
    """
    if postgres:
        texts = func.json_array_elements_text(cast(bindparam(name, type_=String()), JSON))
        return column == any_(func.array(select(texts).scalar_subquery()))
    return column.in_(bindparam(name, expanding=True, type_=String()))


def listed(session: Session, values: Iterable[str]) -> Any:
    """``values`` bound as :func:`in_listed` reads them on the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return json.dumps(list(values))
    return list(values)
