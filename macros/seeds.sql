{#-
    Seeds on the in-process session target: dbt-spark loads a seed with batches of
    `insert ... values` statements, slow for thousands of rows (docs/benchmarks.md). Where
    Spark runs in this process (method: session) the seed file is on its own disk, so
    Spark's CSV reader loads it at once, with every column read as the type the seed's
    `column_types` (or dbt's inference) gives it. Other targets (a remote Thrift server
    cannot see this machine's files) keep dbt-spark's own loader.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- if target.method != 'session' -%}
        {{ return(dbt.spark__load_csv_rows(model, agate_table)) }}
    {%- endif -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set seed_path = model['root_path'] ~ '/' ~ model['original_file_path'] -%}
    {%- set view_name = 'dbt_seed_' ~ model['name'] ~ '_csv' -%}
    {%- set columns = [] -%}
    {%- set casts = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
        {%- set type = column_override.get(col_name, inferred_type) -%}
        {%- do columns.append('`' ~ col_name ~ '` string') -%}
        {%- do casts.append('cast(`' ~ col_name ~ '` as ' ~ type ~ ')') -%}
    {%- endfor -%}
    {%- set sql -%}
        insert into {{ this.render() }}
        select {{ casts | join(', ') }}
        from {{ view_name }}
    {%- endset -%}
    {%- call statement('_') -%}
        create or replace temporary view {{ view_name }} ({{ columns | join(', ') }})
        using csv
        options (path '{{ seed_path }}', header 'true', quote '"', escape '"', mode 'FAILFAST')
    {%- endcall -%}
    {%- call statement('_') -%}
        {{ sql }}
    {%- endcall -%}
    {%- call statement('_') -%}
        drop view if exists {{ view_name }}
    {%- endcall -%}
    {{ return(sql) }}
{% endmacro %}
