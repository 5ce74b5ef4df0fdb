"""SQL expressions the engines select: a column wrapped in a template, a run of cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import F, Field, Func, TextField


class SQLTemplate(Func):
    """Wrap one expression in a SQL template that may name it several times as ``{0}``.

    ``output_field`` says which converters Django applies to the value (text by default).
    """

    output_field = TextField()

    def __init__(self, expression: Any, sql_template: str, output_field: Field | None = None):
        super().__init__(expression, output_field=output_field)
        self.sql_template = sql_template

    def as_sql(self, compiler, connection, **extra_context):  # noqa: ARG002
        sql, params = compiler.compile(self.source_expressions[0])
        times = self.sql_template.count("{0}")
        return self.sql_template.format(sql), tuple(params) * times


class Joined(Func):
    """Several columns, each printed by its template, joined by a fixed separator in SQL: one
    text value per row (a run of CSV cells, say). NULL when any template yields NULL."""

    output_field = TextField()

    def __init__(self, paths: Sequence[str], templates: Sequence[str], separator: str) -> None:
        super().__init__(*(F(path) for path in paths))
        self.templates = list(templates)
        self.separator = separator

    def as_sql(self, compiler, connection, **extra_context):  # noqa: ARG002
        pieces: list[str] = []
        params: list[Any] = []
        for expression, template in zip(self.source_expressions, self.templates, strict=True):
            sql, column_params = compiler.compile(expression)
            pieces.append(template.format(sql))
            params.extend(tuple(column_params) * template.count("{0}"))
        glue = " || " + sql_string(self.separator) + " || "
        return "(" + glue.join(pieces) + ")", tuple(params)


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (standard quoting; ``%`` doubled for the drivers'
    parameter syntax, which both backends undo)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


class StoredValues(Func):
    """SQLite: the columns' stored values as a JSON array where a check fails, else NULL (the
    fallback of a run of cells printed in SQL: see :mod:`exports.formats.cells`)."""

    output_field = TextField()

    def __init__(self, paths: Sequence[str], checks: Sequence[str | None]) -> None:
        super().__init__(*(F(path) for path in paths))
        self.checks = list(checks)

    def as_sql(self, compiler, connection, **extra_context):  # noqa: ARG002
        tests: list[str] = []
        values: list[str] = []
        test_params: list[Any] = []
        value_params: list[Any] = []
        for expression, check in zip(self.source_expressions, self.checks, strict=True):
            sql, params = compiler.compile(expression)
            values.append(sql)
            value_params.extend(params)
            if check:
                tests.append(check.format(sql))
                test_params.extend(tuple(params) * check.count("{0}"))
        sql = f"CASE WHEN NOT ({' AND '.join(tests)}) THEN json_array({', '.join(values)}) END"
        return sql, (*test_params, *value_params)
