{#-
    Table models (SQL and Python) replaced atomically on file formats without
    create-or-replace, such as parquet. dbt-spark's own `table` materialization drops the old
    table before it writes the new one (only Delta and Iceberg get `create or replace`), so a
    failed or killed rebuild loses the table, and readers find none while a rebuild runs.
    Root-project materializations take precedence over the adapter's, so this one serves
    every table model, on the session and the thrift target alike.

    1. Leftovers of an interrupted run of this model are settled first: a previous version
       parked as `<alias>__dbt_old_<run>` while the table itself is missing (killed during
       the swap) is renamed back; other `<alias>__dbt_new_<run>` / `__dbt_old_<run>` tables
       are dropped (managed tables: their files go with them).
    2. The new version is written to the managed table `<alias>__dbt_new_<run>`, registered
       (with the query's columns) before any data is written, so a write that fails or is
       killed leaves a registered table, never an unreferenced directory.
    3. Only then the swap, two metadata renames: `<alias>` -> `<alias>__dbt_old_<run>`,
       `<alias>__dbt_new_<run>` -> `<alias>`. Managed tables keep their directory named after
       the table (`<schema>.db/<alias>`), so readers of the path see the new files as well.
    4. The previous version is dropped, files included.

    Readers find the table with its old rows until the swap, and with its new rows after it;
    it is missing only between the two renames. Not supported: `location_root` (an external
    table's files would survive the drop).
-#}

{% materialization table, adapter='spark', supported_languages=['sql', 'python'] %}
    {%- set identifier = model['alias'] -%}
    {%- set grant_config = config.get('grants') -%}
    {%- if config.get('location_root') is not none -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ identifier ~ ": location_root is not supported by this project's table "
            ~ "materialization (macros/atomic_table.sql): it replaces managed tables only") }}
    {%- endif -%}
    {%- set target_relation = api.Relation.create(
        identifier=identifier, schema=schema, database=database, type='table') -%}
    {%- set old_relation = atomic_table_settle_leftovers(target_relation) -%}

    {{ run_hooks(pre_hooks) }}

    {%- set built = atomic_table_code(identifier) -%}
    {%- set staging = atomic_table_staging(target_relation, built['code'], built['language']) -%}
    {%- call statement('main', language=built['language']) -%}
        {{ staging['main'] }}
    {%- endcall -%}
    {%- do atomic_table_swap(target_relation, old_relation, staging['relation']) -%}

    {%- set should_revoke = should_revoke(old_relation, full_refresh_mode=True) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}
    {%- do persist_constraints(target_relation, model) -%}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{% macro atomic_table_code(identifier) %}
    {#- {'language', 'code'} that build the current model: its own compiled code, or, for a SQL
        model with a `python_engine`, that engine's when the engine choice says so (logged;
        macros/engines.sql). -#}
    {%- if model['language'] == 'sql' and config.get('python_engine') -%}
        {%- set choice = engine_choice() -%}
        {{ log(identifier ~ ': ' ~ choice['engine'] ~ ' engine (' ~ choice['reason'] ~ ')',
            info=true) }}
        {%- if choice['language'] == 'python' -%}
            {{ return({'language': 'python', 'code': engine_python_code(compiled_code)}) }}
        {%- endif -%}
    {%- endif -%}
    {{ return({'language': model['language'], 'code': compiled_code}) }}
{% endmacro %}


{% macro atomic_table_staging(target_relation, code, language) %}
    {#- Step 2 of the materialization, before the write: {'relation': the staging table,
        'main': the body of the statement 'main' that writes `code` (SQL or Python) to it}.
        A SQL model's staging table is registered empty here. The materialization runs the
        statement itself (dbt submits Python only from a materialization's own statement). -#}
    {%- set staging_relation = atomic_table_version(target_relation, 'new', invocation_id) -%}
    {%- if language == 'sql' -%}
        {%- set select_sql = atomic_table_select(code) -%}
        {%- set columns = atomic_table_create_empty(staging_relation, select_sql) -%}
        {%- set main -%}
            insert overwrite table {{ staging_relation }}
            select {{ columns | join(', ') }} from (
            {{ select_sql }}
            ) as dbt_model_columns
        {%- endset -%}
    {%- else -%}
        {%- set main = create_table_as(False, staging_relation, code, language) -%}
    {%- endif -%}
    {{ return({'relation': staging_relation, 'main': main}) }}
{% endmacro %}


{% macro atomic_table_swap(target_relation, old_relation, staging_relation, properties={}) %}
    {#- Steps 3-4: sets the table `properties` on the written staging table (they are swapped
        in with its rows), swaps it in for the live table, drops the previous version. -#}
    {%- if properties -%}
        {%- set assignments = [] -%}
        {%- for key, value in properties.items() -%}
            {%- do assignments.append(sql_string_literal(key) ~ ' = ' ~ sql_string_literal(value)) -%}
        {%- endfor -%}
        {%- do run_query('alter table ' ~ staging_relation ~ ' set tblproperties ('
            ~ assignments | join(', ') ~ ')') -%}
    {%- endif -%}

    {#- The swap: the only moment the table is missing. -#}
    {%- set backup_relation = atomic_table_version(target_relation, 'old', invocation_id) -%}
    {%- if old_relation is not none -%}
        {%- set backup_relation = backup_relation.incorporate(type=old_relation.type) -%}
        {%- do adapter.rename_relation(old_relation, backup_relation) -%}
    {%- endif -%}
    {%- do adapter.rename_relation(staging_relation, target_relation) -%}
    {%- if old_relation is not none -%}
        {%- do adapter.drop_relation(backup_relation) -%}
    {%- endif -%}
{% endmacro %}



{% macro atomic_table_version(relation, kind, run_id) %}
    {#- `<alias>__dbt_new_<run>` (being written) or `<alias>__dbt_old_<run>` (being replaced). -#}
    {{ return(relation.incorporate(path={
        'identifier': relation.identifier ~ '__dbt_' ~ kind ~ '_' ~ run_id[:8]})) }}
{% endmacro %}


{% macro atomic_table_settle_leftovers(target_relation) %}
    {#- Returns the relation to replace (none on a first build), after restoring a version
        parked by a run killed during its swap and dropping every other leftover. -#}
    {%- set old_relation = adapter.get_relation(
        database=target_relation.database, schema=target_relation.schema,
        identifier=target_relation.identifier) -%}
    {%- set listed = run_query(
        'show tables in ' ~ target_relation.schema
        ~ " like '" ~ target_relation.identifier ~ "__dbt_*'") -%}
    {%- set leftovers = [] -%}
    {%- for row in listed.rows if not row['isTemporary'] -%}
        {%- set name = row['tableName'] -%}
        {%- if name.startswith(target_relation.identifier ~ '__dbt_new_')
            or name.startswith(target_relation.identifier ~ '__dbt_old_') -%}
            {%- set cached = adapter.get_relation(
                database=target_relation.database, schema=target_relation.schema,
                identifier=name) -%}
            {%- do leftovers.append(cached if cached is not none else
                target_relation.incorporate(path={'identifier': name})) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for leftover in leftovers -%}
        {%- if old_relation is none and '__dbt_old_' in leftover.identifier -%}
            {{ log('Restoring ' ~ target_relation ~ ' from ' ~ leftover
                ~ ', parked by a run that stopped during its swap', info=true) }}
            {%- do adapter.rename_relation(leftover, target_relation.incorporate(type=leftover.type)) -%}
            {%- set old_relation = target_relation.incorporate(type=leftover.type) -%}
        {%- else -%}
            {{ log('Dropping ' ~ leftover ~ ', left by an interrupted run') }}
            {%- do adapter.drop_relation(leftover) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(old_relation) }}
{% endmacro %}


{% macro atomic_table_select(compiled_code) %}
    {#- The model's query, its columns in contract order when the contract is enforced. -#}
    {%- if config.get('contract').enforced -%}
        {%- do get_assert_columns_equivalent(compiled_code) -%}
        {{ return(get_select_subquery(compiled_code)) }}
    {%- endif -%}
    {{ return('select * from (\n' ~ compiled_code ~ '\n) as dbt_model') }}
{% endmacro %}


{% macro atomic_table_create_empty(relation, select_sql) %}
    {#- Registers `relation` as an empty managed table with the query's columns (no data
        written: nothing is left unreferenced if the write that follows is interrupted).
        Returns the quoted column names in the table's order (partition columns last). -#}
    {%- set described = run_query('describe query ' ~ select_sql) -%}
    {%- set partition_by = config.get('partition_by') or [] -%}
    {%- set partition_by = [partition_by] if partition_by is string else partition_by -%}
    {%- set column_ddl = [] -%}
    {%- set data_columns = [] -%}
    {%- set partition_columns = [] -%}
    {%- for row in described.rows -%}
        {%- set quoted = '`' ~ row['col_name'] ~ '`' -%}
        {%- do column_ddl.append(quoted ~ ' ' ~ row['data_type']) -%}
        {%- do (partition_columns if row['col_name'] in partition_by else data_columns).append(quoted) -%}
    {%- endfor -%}
    {%- call statement('create_empty') -%}
        create table {{ relation }} ({{ column_ddl | join(', ') }})
        {{ file_format_clause() }}
        {{ options_clause() }}
        {{ tblproperties_clause() }}
        {{ partition_cols(label="partitioned by") }}
        {{ clustered_cols(label="clustered by") }}
        {{ comment_clause() }}
    {%- endcall -%}
    {{ return(data_columns + partition_columns) }}
{% endmacro %}


{% macro drop_atomic_table_leftovers() %}
    {#- on-run-end hook: drops the staging table of each table model of this invocation that
        failed (empty or partial; its live table was not touched). Leftovers of a killed
        invocation are dropped by the next run of their model. -#}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- for result in results
        if result.status == 'error' and result.node.resource_type == 'model'
        and result.node.config.materialized in ('table', 'incremental') -%}
        {%- set target_relation = api.Relation.create(
            database=result.node.database, schema=result.node.schema,
            identifier=result.node.alias, type='table') -%}
        {%- do adapter.drop_relation(atomic_table_version(target_relation, 'new', invocation_id)) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}


{% macro sql_string_literal(value) %}
    {#- `value` as a Spark SQL string literal. -#}
    {{- return("'" ~ (value | string | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'") -}}
{% endmacro %}
