"""Compare the seed's database design with a live PostgreSQL database and with docs/schema.md.

`parse_seed` reads the seed's SQL (the ```sql blocks of the design document) with regexes,
`describe_database` reads the same facts from a live catalog, `diff` lists how the two
differ as `Deviation(table, column, kind)` and `documented_deviations` reads the deviation
table of docs/schema.md. A migrated database is faithful to the seed when
`diff(seed, live) == documented_deviations(doc)`.

Kinds a deviation document may hold (`DOCUMENTABLE_KINDS`): `type`, `nullability`,
`primary_key`, `added_column`, `added_table`, `added_constraint`. `diff` also reports
kinds no document may hold, so that their presence always fails the comparison:
`missing_table`, `missing_column`, `default`, `foreign_key`, `missing_constraint`,
`check_definition`, `missing_index`.

Deviation columns: the column for column-level kinds; `*` for `added_table` and
`missing_table`; for constraints and indexes, their columns joined by ", " (or, for a
seed check or index missing from the database, its name).

This module does not import the project's code: it is the independent side of the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

SEED_FILE_NAME = "000_3c5313efa9827ca2.txt"
REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DOC = REPO_ROOT / "docs" / "schema.md"

DOCUMENTABLE_KINDS = frozenset(
    {"type", "nullability", "primary_key", "added_column", "added_table", "added_constraint"}
)
UNDOCUMENTABLE_KINDS = frozenset(
    {
        "missing_table",
        "missing_column",
        "default",
        "foreign_key",
        "missing_constraint",
        "check_definition",
        "missing_index",
    }
)
DEVIATION_TABLE_HEADER = ("table", "column", "kind", "seed", "here", "reason")

# Tables a migrated database holds that are bookkeeping, not schema.
BOOKKEEPING_TABLES = frozenset({"alembic_version"})


def default_seed_path() -> Path:
    """`$BCF_SEED_PATH`, else `shared/seed/` beside the checkout (as tests/conftest.py has it)."""
    override = os.environ.get("BCF_SEED_PATH")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "seed" / SEED_FILE_NAME


@dataclass(frozen=True)
class SeedColumn:
    name: str
    type: str
    nullable: bool
    default: str | None
    # Values of an enumeration the seed writes as a comment (`-- a, b, c`); None otherwise.
    enumeration: frozenset[str] | None = None


@dataclass(frozen=True)
class SeedForeignKey:
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    on_delete: str
    name: str | None = None


@dataclass(frozen=True)
class SeedIndex:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class SeedCheck:
    name: str
    columns: tuple[str, ...]
    definition: str
    # Literals in the check's IN / = ANY (ARRAY[...]) list, when it has one.
    values: frozenset[str] | None = None
    string_literals: frozenset[str] = frozenset()


@dataclass
class SeedTable:
    name: str
    columns: list[SeedColumn] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    uniques: set[tuple[str, ...]] = field(default_factory=set)
    foreign_keys: list[SeedForeignKey] = field(default_factory=list)
    indexes: list[SeedIndex] = field(default_factory=list)
    checks: list[SeedCheck] = field(default_factory=list)

    def column(self, name: str) -> SeedColumn:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name}.{name}")

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


class Deviation(NamedTuple):
    table: str
    column: str
    kind: str


# Normalisation shared by both sides ---------------------------------------------------------

_TYPE_ALIASES = {
    "decimal": "numeric",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "bool": "boolean",
    "character varying": "varchar",
    "character": "char",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
}


def normalise_type(raw: str) -> str:
    """`VARCHAR(255)` -> `varchar(255)`, `DECIMAL(15, 2)` -> `numeric(15,2)`,
    `timestamp with time zone` -> `timestamptz`, `TEXT[]` -> `text[]`."""
    value = " ".join(raw.strip().lower().split())
    array = value.endswith("[]")
    if array:
        value = value[:-2].strip()
    match = re.fullmatch(
        r"([a-z ]+?)\s*(\(\s*\d+\s*(?:,\s*\d+\s*)?\))?((?: with(?:out)? time zone)?)", value
    )
    if not match:
        raise ValueError(f"unrecognised type {raw!r}")
    base = (match.group(1) + match.group(3)).strip()
    base = _TYPE_ALIASES.get(base, base)
    modifier = re.sub(r"\s+", "", match.group(2) or "")
    return f"{base}{modifier}{'[]' if array else ''}"


_CAST = re.compile(r"::[a-z_ ]+(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])?$", re.IGNORECASE)


def normalise_default(raw: str | None) -> str | None:
    """`'{}'::jsonb` -> `'{}'`, `'BRL'::character varying` -> `'BRL'`, `NOW()` -> `now()`."""
    if raw is None:
        return None
    value = raw.strip()
    while True:
        stripped = _CAST.sub("", value).strip()
        if stripped.startswith("(") and stripped.endswith(")") and _balanced(stripped[1:-1]):
            stripped = stripped[1:-1].strip()
        if stripped == value:
            break
        value = stripped
    return value if value.startswith("'") else value.lower()


def _balanced(value: str) -> bool:
    depth = 0
    for char in value:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


_STRING_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def _string_literals(definition: str) -> frozenset[str]:
    return frozenset(m.replace("''", "'") for m in _STRING_LITERAL.findall(definition))


def check_values(definition: str) -> frozenset[str] | None:
    """The values of `col IN (...)` or `col = ANY (ARRAY[...])`, as strings; None otherwise."""
    match = re.search(r"\bIN\s*\((.*)\)", definition, re.IGNORECASE | re.DOTALL) or re.search(
        r"=\s*ANY\s*\(\(?\s*ARRAY\[(.*?)\]", definition, re.IGNORECASE | re.DOTALL
    )
    if not match:
        return None
    items = []
    for item in _split_list(match.group(1)):
        literal = _STRING_LITERAL.match(item.strip())
        if literal:
            items.append(literal.group(1).replace("''", "'"))
        else:
            items.append(_CAST.sub("", item.strip()).strip("() "))
    return frozenset(items)


def _split_list(body: str) -> list[str]:
    items, current, quoted = [], "", False
    for char in body:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [item for item in items if item.strip()]


def _columns_in(expression: str, column_names: Iterable[str]) -> tuple[str, ...]:
    """The table's columns an expression mentions, in table order (literals ignored)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _STRING_LITERAL.sub("''", expression)))
    return tuple(name for name in column_names if name in words)


# The seed ------------------------------------------------------------------------------------

_SQL_BLOCK = re.compile(r"```sql\s*\n(.*?)```", re.DOTALL)
_CREATE_TABLE = re.compile(r"CREATE TABLE\s+(\w+)\s*\((.*?)\n\s*\);", re.DOTALL | re.IGNORECASE)
_CREATE_INDEX = re.compile(
    r"CREATE\s+(UNIQUE\s+)?INDEX\s+(\w+)\s+ON\s+(\w+)\s*\(([^)]*)\)\s*;", re.IGNORECASE
)
_ADD_CHECK = re.compile(
    r"ALTER TABLE\s+(\w+)\s+ADD CONSTRAINT\s+(\w+)\s+CHECK\s*\((.*)\)\s*;", re.IGNORECASE
)
_ADD_FK = re.compile(
    r"ALTER TABLE\s+(\w+)\s+ADD CONSTRAINT\s+(\w+)\s+FOREIGN KEY\s*\(([^)]*)\)\s*"
    r"REFERENCES\s+(\w+)\s*\(([^)]*)\)(?:\s+ON DELETE\s+(CASCADE|RESTRICT|SET NULL|SET DEFAULT"
    r"|NO ACTION))?\s*;",
    re.IGNORECASE,
)
_COLUMN = re.compile(
    r"^(?P<name>\w+)\s+(?P<type>[A-Za-z]+(?:\s*\(\s*\d+\s*(?:,\s*\d+\s*)?\))?(?:\[\])?)"
    r"(?P<rest>.*)$"
)
_DEFAULT = re.compile(r"\bDEFAULT\s+('(?:[^']|'')*'|\w+\s*\([^)]*\)|[\w.+-]+)", re.IGNORECASE)
_REFERENCES = re.compile(
    r"\bREFERENCES\s+(\w+)\s*\(([^)]*)\)(?:\s+ON DELETE\s+(CASCADE|RESTRICT|SET NULL"
    r"|SET DEFAULT|NO ACTION))?",
    re.IGNORECASE,
)
_ENUM_TOKEN = re.compile(r"^[a-z0-9_]+$")


def _names(listing: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in listing.split(",") if part.strip())


def parse_enumeration(comment: str) -> frozenset[str] | None:
    """`empresa, trader, influencer` and `4 or 6` are enumerations; `in seconds` is not."""
    tokens = [t.strip() for t in re.split(r",|\bor\b", comment.strip()) if t.strip()]
    if len(tokens) < 2 or not all(_ENUM_TOKEN.match(token) for token in tokens):
        return None
    return frozenset(tokens)


def _split_comment(line: str) -> tuple[str, str | None]:
    quoted = False
    for position, char in enumerate(line):
        if char == "'":
            quoted = not quoted
        elif not quoted and line.startswith("--", position):
            return line[:position], line[position + 2 :].strip()
    return line, None


def _parse_create_table(name: str, body: str) -> SeedTable:
    table = SeedTable(name=name)
    primary_key: list[str] = []
    for raw_line in body.splitlines():
        line, comment = _split_comment(raw_line)
        line = line.strip().rstrip(",").strip()
        if not line:
            continue
        table_pk = re.fullmatch(r"PRIMARY KEY\s*\(([^)]*)\)", line, re.IGNORECASE)
        table_unique = re.fullmatch(r"UNIQUE\s*\(([^)]*)\)", line, re.IGNORECASE)
        if table_pk:
            primary_key.extend(_names(table_pk.group(1)))
            continue
        if table_unique:
            table.uniques.add(_names(table_unique.group(1)))
            continue
        match = _COLUMN.match(line)
        if not match:
            raise ValueError(f"cannot parse line of {name}: {raw_line!r}")
        column_name, rest = match.group("name"), match.group("rest")
        upper = rest.upper()
        is_pk = "PRIMARY KEY" in upper
        if is_pk:
            primary_key.append(column_name)
        if re.search(r"\bUNIQUE\b", upper):
            table.uniques.add((column_name,))
        default = _DEFAULT.search(rest)
        reference = _REFERENCES.search(rest)
        if reference:
            table.foreign_keys.append(
                SeedForeignKey(
                    columns=(column_name,),
                    referred_table=reference.group(1),
                    referred_columns=_names(reference.group(2)),
                    on_delete=(reference.group(3) or "NO ACTION").upper(),
                )
            )
        table.columns.append(
            SeedColumn(
                name=column_name,
                type=normalise_type(match.group("type")),
                nullable=not (is_pk or "NOT NULL" in upper),
                default=normalise_default(default.group(1)) if default else None,
                enumeration=parse_enumeration(comment) if comment else None,
            )
        )
    table.primary_key = tuple(primary_key)
    if primary_key:
        table.columns = [
            SeedColumn(c.name, c.type, False, c.default, c.enumeration)
            if c.name in primary_key
            else c
            for c in table.columns
        ]
    return table


def parse_seed(path: str | Path | None = None) -> dict[str, SeedTable]:
    """Every CREATE TABLE of the seed's ```sql blocks, with the index and validation sections.

    The Drizzle migration example repeats `users` in a ```typescript block: not parsed.
    """
    source = Path(path) if path is not None else default_seed_path()
    document = source.read_text(encoding="utf-8", errors="replace")
    sql = "\n".join(_SQL_BLOCK.findall(document))
    tables: dict[str, SeedTable] = {}
    for name, body in _CREATE_TABLE.findall(sql):
        if name in tables:
            raise ValueError(f"table {name} defined twice in the seed")
        tables[name] = _parse_create_table(name, body)
    for unique, index_name, table_name, columns in _CREATE_INDEX.findall(sql):
        tables[table_name].indexes.append(SeedIndex(index_name, _names(columns), bool(unique)))
    for table_name, check_name, expression in _ADD_CHECK.findall(sql):
        table = tables[table_name]
        table.checks.append(
            SeedCheck(
                name=check_name,
                columns=_columns_in(expression, table.column_names),
                definition=expression.strip(),
                values=check_values(expression),
                string_literals=_string_literals(expression),
            )
        )
    for table_name, fk_name, columns, referred, referred_columns, on_delete in _ADD_FK.findall(sql):
        named = SeedForeignKey(
            columns=_names(columns),
            referred_table=referred,
            referred_columns=_names(referred_columns),
            on_delete=(on_delete or "NO ACTION").upper(),
            name=fk_name,
        )
        table = tables[table_name]
        # The integrity section repeats inline REFERENCES with a name: one constraint.
        table.foreign_keys = [
            fk
            for fk in table.foreign_keys
            if (fk.columns, fk.referred_table) != (named.columns, named.referred_table)
        ]
        table.foreign_keys.append(named)
    return tables


# The live database ---------------------------------------------------------------------------


def _rows(connection: Connection, sql: str, **params: object) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(text(sql), params)]


_ON_DELETE = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


def describe_database(
    connection: Connection,
    schema: str = "public",
    exclude: Iterable[str] = BOOKKEEPING_TABLES,
) -> dict[str, SeedTable]:
    """The tables of `schema` read from pg_catalog, in the shape `parse_seed` returns.

    `exclude` leaves out bookkeeping tables (Alembic's `alembic_version`).
    """
    excluded = set(exclude)
    relations = _rows(
        connection,
        "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        schema=schema,
    )
    return {
        name: _describe_table(connection, oid, name)
        for oid, name in relations
        if name not in excluded
    }


def _attribute_names(connection: Connection, oid: int) -> dict[int, str]:
    return {
        attnum: attname
        for attnum, attname in _rows(
            connection,
            "SELECT attnum, attname FROM pg_attribute"
            " WHERE attrelid = :oid AND attnum > 0 AND NOT attisdropped",
            oid=oid,
        )
    }


def _describe_table(connection: Connection, oid: int, name: str) -> SeedTable:
    table = SeedTable(name=name)
    attnames = _attribute_names(connection, oid)
    for attname, type_, not_null, default in _rows(
        connection,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d"
        " ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = :oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        oid=oid,
    ):
        table.columns.append(
            SeedColumn(attname, normalise_type(type_), not not_null, normalise_default(default))
        )
    order = {column: position for position, column in enumerate(table.column_names)}

    constraint_indexes: set[int] = set()
    for (
        conname,
        contype,
        conkey,
        conindid,
        confrelid,
        confname,
        confkey,
        confdeltype,
        body,
    ) in _rows(
        connection,
        "SELECT con.conname, con.contype, con.conkey, con.conindid, con.confrelid,"
        " ref.relname, con.confkey, con.confdeltype, pg_get_constraintdef(con.oid)"
        " FROM pg_constraint con LEFT JOIN pg_class ref ON ref.oid = con.confrelid"
        " WHERE con.conrelid = :oid ORDER BY con.conname",
        oid=oid,
    ):
        columns = tuple(attnames[number] for number in conkey or ())
        if contype in ("p", "u", "x"):
            constraint_indexes.add(conindid)
        if contype == "p":
            table.primary_key = columns
        elif contype == "u":
            table.uniques.add(columns)
        elif contype == "f":
            referred = _attribute_names(connection, confrelid)
            table.foreign_keys.append(
                SeedForeignKey(
                    columns=columns,
                    referred_table=confname,
                    referred_columns=tuple(referred[number] for number in confkey),
                    on_delete=_ON_DELETE[confdeltype],
                    name=conname,
                )
            )
        elif contype == "c":
            expression = re.sub(r"^CHECK\s*", "", body)
            table.checks.append(
                SeedCheck(
                    name=conname,
                    columns=tuple(sorted(columns, key=order.__getitem__)),
                    definition=expression,
                    values=check_values(expression),
                    string_literals=_string_literals(expression),
                )
            )
    for index_oid, index_name, unique, indkey, predicate in _rows(
        connection,
        "SELECT i.indexrelid, c.relname, i.indisunique, i.indkey::int2[],"
        " pg_get_expr(i.indpred, i.indrelid)"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = :oid ORDER BY c.relname",
        oid=oid,
    ):
        if index_oid in constraint_indexes:
            continue
        columns = tuple(attnames.get(number, "<expression>") for number in indkey)
        table.indexes.append(SeedIndex(index_name, columns, bool(unique)))
        if unique and predicate is None:
            table.uniques.add(columns)
    return table


# Comparison ----------------------------------------------------------------------------------


def _joined(columns: Iterable[str]) -> str:
    return ", ".join(columns)


def diff(seed: dict[str, SeedTable], live: dict[str, SeedTable]) -> set[Deviation]:
    """How `live` differs from `seed`; see the module docstring for the kinds."""
    deviations: set[Deviation] = set()
    for name in live.keys() - seed.keys():
        deviations.add(Deviation(name, "*", "added_table"))
    for name in seed.keys() - live.keys():
        deviations.add(Deviation(name, "*", "missing_table"))
    for name in seed.keys() & live.keys():
        deviations |= _diff_table(seed[name], live[name])
    return deviations


def _diff_table(seed: SeedTable, live: SeedTable) -> set[Deviation]:
    out: set[Deviation] = set()
    name = seed.name
    live_columns = {column.name: column for column in live.columns}
    seed_columns = {column.name: column for column in seed.columns}
    for column in live.columns:
        if column.name not in seed_columns:
            out.add(Deviation(name, column.name, "added_column"))
    for column in seed.columns:
        live_column = live_columns.get(column.name)
        if live_column is None:
            out.add(Deviation(name, column.name, "missing_column"))
            continue
        if column.type != live_column.type:
            out.add(Deviation(name, column.name, "type"))
        if column.nullable != live_column.nullable:
            out.add(Deviation(name, column.name, "nullability"))
        if column.default != live_column.default:
            out.add(Deviation(name, column.name, "default"))

    for key_column in set(seed.primary_key) ^ set(live.primary_key):
        out.add(Deviation(name, key_column, "primary_key"))

    for columns in live.uniques - seed.uniques:
        out.add(Deviation(name, _joined(columns), "added_constraint"))
    for columns in seed.uniques - live.uniques:
        out.add(Deviation(name, _joined(columns), "missing_constraint"))

    live_fks = {fk.columns: fk for fk in live.foreign_keys}
    seed_fks = {fk.columns: fk for fk in seed.foreign_keys}
    for columns, fk in seed_fks.items():
        live_fk = live_fks.get(columns)
        if live_fk is None:
            out.add(Deviation(name, _joined(columns), "missing_constraint"))
        elif (fk.referred_table, fk.referred_columns, fk.on_delete) != (
            live_fk.referred_table,
            live_fk.referred_columns,
            live_fk.on_delete,
        ) or (fk.name is not None and fk.name != live_fk.name):
            out.add(Deviation(name, _joined(columns), "foreign_key"))
    for columns in live_fks.keys() - seed_fks.keys():
        out.add(Deviation(name, _joined(columns), "added_constraint"))

    out |= _diff_checks(seed, live)

    live_indexes = {index.name: index for index in live.indexes}
    for index in seed.indexes:
        live_index = live_indexes.get(index.name)
        if live_index is None or (live_index.columns, live_index.unique) != (
            index.columns,
            index.unique,
        ):
            out.add(Deviation(name, index.name, "missing_index"))
    return out


def _diff_checks(seed: SeedTable, live: SeedTable) -> set[Deviation]:
    """Seed checks match by name; enumeration comments match a one-column check of those values.

    A live check that is neither is `added_constraint`; extra non-unique indexes are not
    compared (TimescaleDB's create_hypertable adds one on the time column).
    """
    out: set[Deviation] = set()
    name = seed.name
    enumerations = {c.name: c.enumeration for c in seed.columns if c.enumeration is not None}
    satisfied: set[str] = set()
    live_by_name = {check.name: check for check in live.checks}
    seed_names = {check.name for check in seed.checks}
    for check in seed.checks:
        other = live_by_name.get(check.name)
        if other is None:
            out.add(Deviation(name, check.name, "missing_constraint"))
            continue
        if (check.columns, check.values, check.string_literals) != (
            other.columns,
            other.values,
            other.string_literals,
        ):
            out.add(Deviation(name, check.name, "check_definition"))
    for check in live.checks:
        enumerated = (
            len(check.columns) == 1
            and check.values is not None
            and enumerations.get(check.columns[0]) == check.values
        )
        if enumerated:
            satisfied.add(check.columns[0])
        elif check.name not in seed_names:
            out.add(Deviation(name, _joined(check.columns), "added_constraint"))
    for column in enumerations.keys() - satisfied:
        out.add(Deviation(name, column, "missing_constraint"))
    return out


def foreign_key_mismatches(seed: dict[str, SeedTable], live: dict[str, SeedTable]) -> list[str]:
    """Every seed foreign key whose target or ON DELETE differs in `live`, described."""
    problems = []
    for name, table in seed.items():
        live_fks = {fk.columns: fk for fk in live[name].foreign_keys} if name in live else {}
        for fk in table.foreign_keys:
            other = live_fks.get(fk.columns)
            if other is None:
                problems.append(f"{name}.{_joined(fk.columns)}: no foreign key")
            elif (other.referred_table, other.on_delete) != (fk.referred_table, fk.on_delete):
                problems.append(
                    f"{name}.{_joined(fk.columns)}: {other.referred_table} ON DELETE"
                    f" {other.on_delete}, seed says {fk.referred_table} ON DELETE {fk.on_delete}"
                )
    return problems


# The deviation document ----------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def documented_deviations(path: str | Path = SCHEMA_DOC) -> set[Deviation]:
    """The rows of the table under `## Deviations from the seed` in docs/schema.md."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    try:
        start = next(
            i for i, line in enumerate(lines) if line.strip() == "## Deviations from the seed"
        )
    except StopIteration:
        raise ValueError(f"{path}: no '## Deviations from the seed' section") from None
    section = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        section.append(line)
    table_lines = [line for line in section if line.strip().startswith("|")]
    if len(table_lines) < 2:
        raise ValueError(f"{path}: no deviation table")
    header = tuple(_plain(cell) for cell in _cells(table_lines[0]))
    if header != DEVIATION_TABLE_HEADER:
        raise ValueError(f"{path}: deviation table header is {header}")
    if not all(re.fullmatch(r":?-+:?", cell) for cell in _cells(table_lines[1])):
        raise ValueError(f"{path}: second line of the deviation table is not a separator")
    deviations: set[Deviation] = set()
    for line in table_lines[2:]:
        cells = _cells(line)
        if len(cells) != len(DEVIATION_TABLE_HEADER):
            raise ValueError(f"{path}: row with {len(cells)} cells: {line}")
        deviation = Deviation(_plain(cells[0]), _plain(cells[1]), _plain(cells[2]))
        if deviation.kind not in DOCUMENTABLE_KINDS:
            raise ValueError(f"{path}: unknown kind {deviation.kind!r} in {line}")
        if deviation in deviations:
            raise ValueError(f"{path}: duplicate row {deviation}")
        deviations.add(deviation)
    return deviations
