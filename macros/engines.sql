{#-
    One model per table, two ways to compute it. A SQL model is the readable definition of its
    table; its YAML may name a faster Python implementation of the same rows (config
    `python_engine`), chosen by a var:

        config:
          python_engine:
            var: pair_engine                                  # auto | sql | <name>
            name: blocked
            function: python_jobs.pair_products.pair_scores   # returns a DataFrame, or None
            refs: {ratings: int_ratings_validated}            # argument: model it reads
            vars: {min_raters: min_co_raters}                 # argument: var it reads
            arguments: {min_pairs: 1}                         # argument: literal value

    The table materialization (macros/atomic_table.sql) asks `engine_choice()` which engine
    builds the table and logs the answer with its reason. The Python engine runs as a dbt
    Python model would (same submission: in-process session or Spark Connect), through
    `dbt_spark_oss_python.engines.run_engine`, which calls the function and, when it returns
    None (its memory bound, logged), runs the model's compiled SQL instead. dbt's unit tests
    always test the SQL definition; tests/ hold the engines equal on real data.
-#}

{% macro engine_choice() %}
    {#- {'language': 'sql' | 'python', 'engine': name, 'reason': why} for the current model. -#}
    {%- set python_engine = config.get('python_engine') -%}
    {%- if not python_engine -%}
        {{ return({'language': 'sql', 'engine': 'sql', 'reason': ''}) }}
    {%- endif -%}
    {%- set var_name = python_engine['var'] -%}
    {%- set wanted = var(var_name) -%}
    {%- set runs_python = engine_target_runs_python() -%}
    {%- if wanted == 'sql' -%}
        {{ return({'language': 'sql', 'engine': 'sql', 'reason': var_name ~ ': sql'}) }}
    {%- elif wanted == 'auto' and not runs_python -%}
        {{ return({'language': 'sql', 'engine': 'sql', 'reason': var_name ~ ': auto; target '
            ~ target.name ~ ' runs no Python models (set SPARK_CONNECT_URL for the '
            ~ python_engine['name'] ~ ' engine)'}) }}
    {%- elif wanted == 'auto' -%}
        {{ return({'language': 'python', 'engine': python_engine['name'], 'reason': var_name
            ~ ': auto; Python models run on target ' ~ target.name}) }}
    {%- endif -%}
    {{ return({'language': 'python', 'engine': python_engine['name'],
        'reason': var_name ~ ': ' ~ wanted}) }}
{% endmacro %}


{% macro engine_target_runs_python() %}
    {#- Whether this target runs Python models: an in-process session, or Spark Connect
        (SPARK_CONNECT_URL or the model's spark_connect_url; dbt_spark_oss_python). -#}
    {{ return(target.method == 'session' or (env_var('SPARK_CONNECT_URL', '') | trim != '')
        or (config.get('spark_connect_url') or '') | trim != '') }}
{% endmacro %}


{% macro engine_python_code(sql) %}
    {#- The Python model code that builds the current model with its `python_engine`, the
        compiled SQL kept as the fallback. py_write_table appends the write. -#}
    {%- set python_engine = config.get('python_engine') -%}
    {%- set tables = {} -%}
    {%- for argument, model_name in (python_engine.get('refs') or {}).items() -%}
        {%- do tables.update({argument: ref(model_name) | string}) -%}
    {%- endfor -%}
    {%- set arguments = {} -%}
    {%- do arguments.update(python_engine.get('arguments') or {}) -%}
    {%- for argument, var_name in (python_engine.get('vars') or {}).items() -%}
        {%- do arguments.update({argument: var(var_name)}) -%}
    {%- endfor %}
# The {{ python_engine['name'] }} engine of the SQL model {{ model['name'] }} (macros/engines.sql).
import json

from dbt_spark_oss_python.engines import run_engine


class dbtObj:
    def __init__(self, load_df_function) -> None:
        self.load = load_df_function


def model(dbt, session):
    return run_engine(
        session,
        model={{ model['name'] | tojson }},
        engine={{ python_engine['name'] | tojson }},
        function={{ python_engine['function'] | tojson }},
        tables={{ tables | tojson }},
        arguments=json.loads({{ arguments | tojson | tojson }}),
        sql={{ sql | tojson }},
    )
{% endmacro %}
