{#-
  dbt's own get_fixture_sql (dbt-core 1.11, macros/unit_test_sql/get_fixture_sql.sql), with one
  change: a fixture's rows are one inline table (`select * from values (...), (...) as t (...)`)
  instead of one `select` per row joined by `union all`. Spark plans every branch of a union as
  a scan of its own, so a fixture of 15 rows that a model reads three times became 45 leaf
  scans and as many tasks; one inline table is one local relation. The item-kNN unit tests ran
  in about two thirds of their time for it (docs/benchmarks.md, "The test suite"). The column
  types, the defaults for columns a row leaves out and the errors are dbt's.
-#}
{% macro get_fixture_sql(rows, column_name_to_data_types) %}
-- Fixture for {{ model.name }}
{% set default_row = {} %}
{%- set column_name_to_quoted = {} -%}

{%- if not column_name_to_data_types -%}
    {%- set this_or_defer_relation = (
        defer_relation if (defer_relation and not load_relation(this)) else this
    ) -%}
    {%- set columns_in_relation = adapter.get_columns_in_relation(this_or_defer_relation) -%}
    {%- set column_name_to_data_types = {} -%}
    {%- for column in columns_in_relation -%}
        {%- do column_name_to_data_types.update({column.name | lower: column.data_type}) -%}
        {%- do column_name_to_quoted.update({column.name | lower: column.quoted}) -%}
    {%- endfor -%}
{%- endif -%}

{%- if not column_name_to_data_types -%}
    {{ exceptions.raise_compiler_error(
        "Not able to get columns for unit test '" ~ model.name ~ "' from relation "
        ~ this ~ " because the relation doesn't exist"
    ) }}
{%- endif -%}

{%- for column_name, column_type in column_name_to_data_types.items() -%}
    {%- do default_row.update({column_name: (safe_cast("null", column_type) | trim)}) -%}
{%- endfor -%}

{{ validate_fixture_rows(rows, row_number) }}

{%- set names = default_row.keys() | list -%}
{%- set quoted = [] -%}
{%- for column_name in names -%}
    {%- do quoted.append(column_name_to_quoted.get(column_name, column_name)) -%}
{%- endfor -%}

{%- if (rows | length) == 0 %}
select
    {%- for column_name in names %}
    {{ default_row[column_name] }} as {{ quoted[loop.index0] }}{{ ',' if not loop.last }}
    {%- endfor %}
limit 0
{%- else %}
select * from values
    {%- for row in rows %}
    {%- set values = default_row.copy() %}
    {%- do values.update(format_row(row, column_name_to_data_types)) %}
    {%- set cells = [] %}
    {%- for column_name in names %}{% do cells.append(values[column_name]) %}{% endfor %}
    ({{ cells | join(', ') }}){{ ',' if not loop.last }}
    {%- endfor %}
as fixture_rows ({{ quoted | join(', ') }})
{%- endif %}
{% endmacro %}
