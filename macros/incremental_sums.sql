{#-
    Incremental tables of sums over the ratings, on any file format (parquet has no MERGE).

    dbt-spark's incremental strategies cannot keep such a table exact and whole on parquet:
    `append` cannot take back the contribution of a replaced rating, `merge` needs Delta,
    Iceberg or Hudi, and `insert_overwrite` of partitions deletes a partition's files before
    it writes the new ones (a killed run loses them) and, for pair sums, touches nearly every
    partition anyway (a user's new rating pairs with every movie the user rated). So this
    materialization rewrites the table through the atomic swap of macros/atomic_table.sql:

    - The table records, in its table properties, the ratings it covers: `movielens.through`
      (the load key of the last ratings file that changed them, macros/movielens_sources.sql)
      and `movielens.fingerprint` (count and hash sum of the covered (user, movie, rating)
      rows). Properties and rows are swapped in together, so they always agree.
    - It also records the vars its rows depend on (config `incremental_vars`), as JSON in
      `movielens.vars`.
    - A first run, `--full-refresh`, a table without the record, covered ratings that no
      longer match it (a loaded file edited, a batch named before one already loaded, the
      movies file changed) or changed vars build the whole table (the reason logged), as the
      `table` materialization does (the model's SQL or its python_engine).
    - When ratings files arrived and the model's `python_engine` would build it (macros/
      engines.sql), the whole table is built as well: measured at 1M ratings, the blocked
      pair engine recomputed int_movie_pair_scores in 10.5 s, where the SQL update of its
      20M rows with a day's changes took 30.3 s and the SQL self-join 101.0 s
      (benchmarks/incremental_batch.py).
    - Otherwise, when ratings files arrived, the model's config `incremental_update` names a
      macro, called as macro(existing_relation, covered_through). It returns {'code': a
      query of the whole new table from the existing one and the ratings that changed since,
      'cleanup': statements run after the swap (it may write small intermediate tables
      first)}. When none arrived, the table is left as it is.
    - A run that fails or is killed before the swap leaves the table and its record as they
      were; the next run starts from them again, so nothing is lost or counted twice.
-#}

{% materialization incremental, adapter='spark', supported_languages=['sql'] %}
    {%- set identifier = model['alias'] -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set update_macro_name = config.get('incremental_update') -%}
    {%- if not update_macro_name or context.get(update_macro_name) is none -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ identifier ~ ": an incremental model of this project names the macro "
            ~ "that updates it (config incremental_update; macros/incremental_sums.sql), got "
            ~ (update_macro_name or 'none')) }}
    {%- endif -%}
    {%- set target_relation = api.Relation.create(
        identifier=identifier, schema=schema, database=database, type='table') -%}
    {%- set old_relation = atomic_table_settle_leftovers(target_relation) -%}

    {{ run_hooks(pre_hooks) }}

    {%- set now = rating_state_now() -%}
    {%- set model_vars = {} -%}
    {%- for name in config.get('incremental_vars') or [] -%}
        {%- do model_vars.update({name: var(name)}) -%}
    {%- endfor -%}
    {%- do now.update({'vars': tojson(model_vars, sort_keys=true)}) -%}
    {%- set covered = incremental_sums_covered(old_relation) -%}
    {%- set why_full = none -%}
    {%- if old_relation is none -%}
        {%- set why_full = 'first build' -%}
    {%- elif should_full_refresh() -%}
        {%- set why_full = '--full-refresh' -%}
    {%- elif old_relation.type != 'table' -%}
        {%- set why_full = 'a ' ~ old_relation.type ~ ' stands where the table goes' -%}
    {%- elif covered is none -%}
        {%- set why_full = 'the table records no covered ratings' -%}
    {%- elif covered['vars'] != now['vars'] -%}
        {%- set why_full = 'vars changed: ' ~ covered['vars'] ~ ' -> ' ~ now['vars'] -%}
    {%- else -%}
        {%- set before = rating_state_as_of(covered['through']) -%}
        {%- if before['fingerprint'] != covered['fingerprint'] -%}
            {%- set why_full = 'the ratings loaded through ' ~ (covered['through'] or "the data set's file")
                ~ ' changed since the last build (' ~ covered['fingerprint'] ~ ' -> '
                ~ before['fingerprint'] ~ ' ratings:hash): a loaded file edited, a batch named '
                ~ 'before one already loaded, or the movies file changed' -%}
        {%- endif -%}
    {%- endif -%}

    {%- set changed = why_full is not none or now['fingerprint'] != covered['fingerprint']
        or now['through'] != covered['through'] -%}
    {%- if why_full is none and changed and config.get('python_engine')
        and engine_choice()['language'] == 'python' -%}
        {%- set why_full = 'new ratings; the ' ~ config.get('python_engine')['name']
            ~ ' engine recomputes the table faster than Spark rewrites it with the changes'
            ~ ' (benchmarks/incremental_batch.py); ' ~ config.get('python_engine')['var']
            ~ ': sql updates it' -%}
    {%- endif -%}

    {%- if why_full is not none -%}
        {{ log(identifier ~ ': full build (' ~ why_full ~ '), covering ratings through '
            ~ incremental_sums_label(now['through']), info=true) }}
        {%- set built = atomic_table_code(identifier) -%}
    {%- elif not changed -%}
        {{ log(identifier ~ ': up to date, covering ratings through '
            ~ incremental_sums_label(now['through']), info=true) }}
        {%- set built = none -%}
    {%- else -%}
        {{ log(identifier ~ ': incremental update, ratings through '
            ~ incremental_sums_label(covered['through']) ~ ' -> '
            ~ incremental_sums_label(now['through']), info=true) }}
        {%- set update = context[update_macro_name](old_relation, covered['through']) -%}
        {%- set built = {'language': 'sql', 'code': update['code'],
            'cleanup': update.get('cleanup') or []} -%}
    {%- endif -%}

    {%- if built is none -%}
        {%- call noop_statement('main', 'up to date', 'OK') -%}{%- endcall -%}
    {%- else -%}
        {%- set staging = atomic_table_staging(target_relation, built['code'], built['language']) -%}
        {%- call statement('main', language=built['language']) -%}
            {{ staging['main'] }}
        {%- endcall -%}
        {%- do atomic_table_swap(target_relation, old_relation, staging['relation'],
            incremental_sums_properties(now)) -%}
        {%- for cleanup in built.get('cleanup') or [] -%}
            {%- do run_query(cleanup) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- set should_revoke = should_revoke(old_relation, full_refresh_mode=True) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro incremental_sums_label(through) %}
    {{- return(through if through else "the data set's file") -}}
{% endmacro %}


{% macro incremental_sums_properties(state) %}
    {{ return({'movielens.through': state['through'], 'movielens.fingerprint': state['fingerprint'],
        'movielens.vars': state['vars']}) }}
{% endmacro %}


{% macro incremental_sums_covered(relation) %}
    {#- {'through', 'fingerprint'} recorded on `relation`, or none. -#}
    {%- if relation is none or relation.type != 'table' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set properties = {} -%}
    {%- for row in run_query('show tblproperties ' ~ relation).rows -%}
        {%- do properties.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- if 'movielens.fingerprint' not in properties or 'movielens.through' not in properties -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'through': properties['movielens.through'],
        'fingerprint': properties['movielens.fingerprint'],
        'vars': properties.get('movielens.vars')}) }}
{% endmacro %}


{% macro rating_fingerprint_sql(condition='true') %}
    {#- count:hash-sum of the (user, movie, rating) rows meeting `condition`: equal for equal
        sets of ratings (what a table of rating sums depends on). -#}
    concat(
        cast(count_if({{ condition }}) as string), ':',
        cast(coalesce(sum(case when {{ condition }} then
            cast(xxhash64(user_id, movie_id, rating) as decimal(38, 0)) end), 0) as string))
{%- endmacro %}


{% macro rating_state_now() %}
    {#- The validated ratings this run's models read (int_ratings_validated, a snapshot):
        {'through': the load key of the last file that changed them, 'fingerprint'}. -#}
    {%- set row = run_query(
        'select coalesce(max(loaded_in), \'\') as through, ' ~ rating_fingerprint_sql()
        ~ ' as fingerprint from ' ~ ref('int_ratings_validated')).rows[0] -%}
    {{ return({'through': row[0], 'fingerprint': row[1]}) }}
{% endmacro %}


{% macro rating_state_as_of(through) %}
    {#- The fingerprint of the ratings as they were after the file with load key `through`
        (int_rating_versions), in the form of rating_state_now(). -#}
    {%- set row = run_query(
        'select ' ~ rating_fingerprint_sql(rating_as_of_condition(through))
        ~ ' from ' ~ ref('int_rating_versions')).rows[0] -%}
    {{ return({'through': through, 'fingerprint': row[0]}) }}
{% endmacro %}


{% macro rating_as_of_condition(through) %}
    {#- The rows of int_rating_versions that were the kept ratings after load key `through`. -#}
    {%- set key = sql_string_literal(through) -%}
    (loaded_in <= {{ key }} and (replaced_in is null or replaced_in > {{ key }}))
{%- endmacro %}


{% macro incremental_sums_write(relation, query) %}
    {#- Writes `query` to the new managed parquet table `relation`: registered empty first,
        then filled, so that a run killed while writing leaves a table that the next run
        drops as a leftover, never an unreferenced directory. -#}
    {%- do run_query('create table ' ~ relation ~ ' using parquet as select * from ('
        ~ query ~ ') as update_rows where false') -%}
    {%- do run_query('insert overwrite table ' ~ relation ~ ' select * from ('
        ~ query ~ ') as update_rows') -%}
{% endmacro %}
