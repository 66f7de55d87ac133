#!/usr/bin/env python3
"""Compares a migrated database with the `diesel::table!` blocks of schema.rs.

    scripts/check-schema-columns.py PSQL DATABASE_URL SCHEMA_RS DIESEL_TOML

The fallback of scripts/check-schema when diesel_cli is not installed. It
asks the database (through PSQL) what `diesel print-schema` would ask it, and
applies print-schema's rules (diesel_cli 2.3, default `[print_schema]`
options) to what it finds:

  * tables: the base tables of the current schema, except `__*` ones;
  * primary keys, in key order;
  * columns in ordinal order, each with its Rust name (the SQL name, plus `_`
    when that is a Rust keyword, with `#[sql_name = "..."]`) and its type:
    the upper-camel-cased `udt_name`, `Array<Nullable<...>>` for arrays,
    `Nullable<...>` for nullable columns, and `#[max_length = N]`;
  * `joinable!` for each single-column foreign key to a table's one-column
    primary key, unless the two tables are linked by more than one key;
  * every table in `allow_tables_to_appear_in_same_query!`.

Anything it does not model (custom SQL types, tables without a primary key,
other `[print_schema]` options such as `filter` or `patch_file`) makes it
fail and say so rather than pass blindly. Exit status 1 on any difference.
"""

import re
import subprocess
import sys
import tomllib

# Identifiers syn refuses (diesel_cli appends `_` to them), plus diesel's own.
RUST_KEYWORDS = set(
    "_ abstract as async await become box break const continue crate do dyn "
    "else enum extern false final fn for if impl in let loop macro match mod "
    "move mut override priv pub ref return Self self static struct super "
    "trait true try type typeof unsafe unsized use virtual where while yield "
    "table columns is_nullable".split()
)

# Types diesel provides for PostgreSQL (diesel_cli's `pg_diesel_types` and
# `common_diesel_types`); print-schema would define any other in `sql_types`.
DIESEL_PG_TYPES = set(
    "Cidr Citext Inet Jsonb MacAddr MacAddr8 Money Oid Range Timestamptz Uuid "
    "Json PgLsn Record Interval Int4range Int8range Daterange Numrange Tsrange "
    "Tstzrange Int4multirange Int8multirange Datemultirange Nummultirange "
    "Tsmultirange Tstzmultirange SmallSerial BigSerial Serial Bytea Bpchar "
    "Macaddr Macaddr8 Bool Integer SmallInt BigInt Binary Text Double Float "
    "Numeric Timestamp Date Time Float4 Smallint Int2 Int4 Int8 Bigint Float8 "
    "Decimal VarChar Varchar Char Bit".split()
)

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def rust_name(sql_name, table=None):
    if not IDENT.match(sql_name):
        raise Unsupported(f"the name {sql_name!r} needs diesel_cli's character mapping")
    reserved = sql_name in RUST_KEYWORDS or (
        sql_name.startswith("__") and not sql_name.endswith("_")
    )
    return sql_name + "_" if reserved or sql_name == table else sql_name


def upper_camel(name):
    return "".join(part[:1].upper() + part[1:].lower() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


class Unsupported(Exception):
    pass


def query(psql, url, sql):
    out = subprocess.run(
        [psql, url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def from_database(psql, url):
    """The schema as print-schema would write it, as plain data."""
    tables = {}
    for (name,) in query(
        psql,
        url,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_\\_%' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name",
    ):
        tables[name] = {"pk": [], "columns": []}
    for name, column in query(
        psql,
        url,
        "SELECT k.table_name, k.column_name FROM information_schema.key_column_usage k "
        "JOIN information_schema.table_constraints c USING (constraint_schema, constraint_name) "
        "WHERE c.constraint_type = 'PRIMARY KEY' AND k.table_schema = current_schema() "
        "ORDER BY k.table_name, k.ordinal_position",
    ):
        if name in tables:
            tables[name]["pk"].append(column)
    for name, column, udt, nullable, max_length in query(
        psql,
        url,
        "SELECT table_name, column_name, udt_name, is_nullable, "
        "coalesce(character_maximum_length::text, '') FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    ):
        if name not in tables:
            continue
        is_array = udt.startswith("_")
        base = upper_camel(udt[1:] if is_array else udt)
        if base not in DIESEL_PG_TYPES:
            raise Unsupported(f"{name}.{column} has type {udt}, for which print-schema defines a custom SQL type")
        ty = f"Array<Nullable<{base}>>" if is_array else base
        if nullable == "YES":
            ty = f"Nullable<{ty}>"
        tables[name]["columns"].append(
            (rust_name(column, rust_name(name)), column, ty, max_length or None)
        )
    for name, table in tables.items():
        if not table["pk"]:
            raise Unsupported(f"table {name} has no primary key (print-schema refuses it)")

    # diesel_cli's load_foreign_keys.sql groups the keys of a table pair.
    keys = query(
        psql,
        url,
        "SELECT tbl.relname, f_tbl.relname, string_agg(col.attname, ',' ORDER BY u.pos), "
        "string_agg(f_col.attname, ',' ORDER BY u.pos) "
        "FROM pg_constraint c "
        "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS u(attnum, f_attnum, pos) "
        "JOIN pg_class tbl ON tbl.oid = c.conrelid "
        "JOIN pg_class f_tbl ON f_tbl.oid = c.confrelid "
        "JOIN pg_attribute col ON col.attrelid = tbl.oid AND col.attnum = u.attnum "
        "JOIN pg_attribute f_col ON f_col.attrelid = f_tbl.oid AND f_col.attnum = u.f_attnum "
        "WHERE c.contype = 'f' AND tbl.relnamespace = current_schema()::regnamespace "
        "AND f_tbl.relnamespace = current_schema()::regnamespace "
        "GROUP BY 1, 2",
    )
    pairs = [frozenset((child, parent)) for child, parent, _, _ in keys]
    joinables = set()
    for child, parent, columns, parent_columns in keys:
        if (
            child != parent
            and child in tables
            and parent in tables
            and "," not in columns
            and tables[parent]["pk"] == [parent_columns]
            and pairs.count(frozenset((child, parent))) == 1
        ):
            joinables.add((rust_name(child), rust_name(parent), rust_name(columns)))
    return tables, joinables


def from_file(path):
    text = open(path, encoding="utf-8").read()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    tables = {}
    for match in re.finditer(r"diesel::table!\s*\{(.*?)\}\s*\}", code, re.S):
        body = match.group(1)
        head = re.match(r"\s*(\w+)\s*\(([^)]*)\)\s*\{(.*)", body, re.S)
        if head is None:
            raise Unsupported(f"cannot read the table! block: {body.strip()[:60]!r}")
        name, pk, columns = head.groups()
        if "use " in columns:
            raise Unsupported(f"table {name} imports custom SQL types")
        parsed = []
        for column in re.finditer(r"((?:#\[[^\]]*\]\s*)*)(\w+)\s*->\s*([^,]+?)\s*,", columns):
            attrs, rust, ty = column.groups()
            sql = re.search(r'#\[sql_name\s*=\s*"([^"]*)"\]', attrs)
            max_length = re.search(r"#\[max_length\s*=\s*(\d+)\]", attrs)
            parsed.append(
                (rust, sql.group(1) if sql else rust, re.sub(r"\s+", "", ty), max_length and max_length.group(1))
            )
        tables[name] = {"pk": [k.strip() for k in pk.split(",") if k.strip()], "columns": parsed}
    joinables = set(re.findall(r"diesel::joinable!\(\s*(\w+)\s*->\s*(\w+)\s*\((\w+)\)\s*\)", code))
    together = re.search(r"diesel::allow_tables_to_appear_in_same_query!\(([^)]*)\)", code)
    allowed = {t.strip() for t in together.group(1).split(",") if t.strip()} if together else set()
    return tables, joinables, allowed


# `[print_schema]` options that do not change what this script compares.
MODELLED_OPTIONS = {"file", "with_docs"}


def check_options(diesel_toml):
    with open(diesel_toml, "rb") as file:
        options = tomllib.load(file).get("print_schema", {})
    for key in options:
        if key not in MODELLED_OPTIONS:
            raise Unsupported(f"{diesel_toml} sets [print_schema] {key}")


def main():
    psql, url, path, diesel_toml = sys.argv[1:5]
    try:
        check_options(diesel_toml)
        want_tables, want_joins = from_database(psql, url)
        have_tables, have_joins, have_allowed = from_file(path)
    except Unsupported as error:
        print(f"check-schema: {error}; this check does not model that, install diesel_cli to compare", file=sys.stderr)
        return 1
    problems = []
    for name in sorted(set(want_tables) - set(have_tables)):
        problems.append(f"table {name} is missing")
    for name in sorted(set(have_tables) - set(want_tables)):
        problems.append(f"table {name} is not in the migrated database")
    for name in sorted(set(want_tables) & set(have_tables)):
        want, have = want_tables[name], have_tables[name]
        # The primary key is written with the columns' Rust names.
        want_pk = [rust_name(k, name) for k in want["pk"]]
        if want_pk != have["pk"]:
            problems.append(f"table {name}: primary key is ({', '.join(want_pk)}), schema.rs says ({', '.join(have['pk'])})")
        if want["columns"] != have["columns"]:
            problems.append(f"table {name}: columns differ")
            for rust, sql, ty, max_length in want["columns"]:
                if (rust, sql, ty, max_length) not in have["columns"]:
                    problems.append(f"    expected {describe(rust, sql, ty, max_length)}")
            for rust, sql, ty, max_length in have["columns"]:
                if (rust, sql, ty, max_length) not in want["columns"]:
                    problems.append(f"    found    {describe(rust, sql, ty, max_length)}")
            if sorted(want["columns"]) == sorted(have["columns"]):
                problems.append("    (same columns in another order)")
    for child, parent, column in sorted(want_joins - have_joins):
        problems.append(f"diesel::joinable!({child} -> {parent} ({column})) is missing")
    for child, parent, column in sorted(have_joins - want_joins):
        problems.append(f"diesel::joinable!({child} -> {parent} ({column})) has no single foreign key behind it")
    want_allowed = set(want_tables) if len(want_tables) >= 2 else set()
    if have_allowed != want_allowed:
        problems.append(
            "allow_tables_to_appear_in_same_query! should list exactly: " + ", ".join(sorted(want_allowed))
        )
    if problems:
        print(f"check-schema: {path} does not match the migrations:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    columns = sum(len(t["columns"]) for t in want_tables.values())
    print(f"    {len(want_tables)} tables, {columns} columns, {len(want_joins)} joinables match the migrations")
    return 0


def describe(rust, sql, ty, max_length):
    out = f"{rust} -> {ty}"
    if sql != rust:
        out += f'  (#[sql_name = "{sql}"])'
    if max_length:
        out += f"  (#[max_length = {max_length}])"
    return out


if __name__ == "__main__":
    sys.exit(main())
