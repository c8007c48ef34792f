{#-
    Typed vars. `var_kinds()` is the one table of what every var must be; `check_vars()`
    checks them all and raises one line naming each bad var, the value given and what is
    expected. A var of the table defined nowhere (not in dbt_project.yml, not on the command
    line) is skipped. It runs twice, so that no command gets past a bad value:
    - while dbt parses the project: `generate_schema_name` below calls it as it names each
      model, before dbt parses the YAML files and tests (whose Jinja would otherwise fail on
      a bad value with a message naming no var) and before anything connects to Spark;
    - as the first on-run-start hook, before the sources are registered (a parse skipped by
      partial parsing means the vars did not change since one that passed).
-#}

{% macro var_kinds() %}
    {#- Every var and what it must be. Add a row with each new var (a test checks that
        every var of dbt_project.yml has one). Kinds: see var_problem(); a list is an enum. -#}
    {{ return({
        'movielens_path': 'optional_text',
        'movielens_layout': ['auto', 'ml-latest', 'ml-1m', 'ml-10m', 'ml-100k'],
        'movielens_raw_schema': 'optional_identifier',
        'max_reject_share': 'number_0_1',
        'min_co_raters': 'positive_int',
        'min_similarity': 'number_0_1',
        'top_n': 'positive_int',
        'pair_join': ['broadcast', 'shuffle'],
        'pair_partitions': 'positive_int',
        'pair_engine': ['auto', 'sql', 'blocked'],
        'pair_blocked_max_ratings': 'positive_int',
        'similarity_min_co_raters': 'positive_int',
        'similarity_shrinkage': 'positive_int',
        'similarity_asymmetry': 'number_0_1',
        'similarity_genre_weight': 'positive_number',
        'similarity_ease_lambda': 'positive_number',
        'content_pool_per_genre': 'positive_int',
        'genome_neighbours': 'positive_int',
        'evaluation_protocol': ['stratified', 'seed'],
        'stratified_train_share': 'number_0_1_exclusive',
        'stratified_validation_share': 'number_0_1_exclusive',
        'stratified_seed': 'int',
        'validation_carvings': 'positive_int',
        'als_split_weights': 'split_weights',
        'als_seed': 'int',
        'als_ranks': 'positive_ints',
        'als_reg_params': 'non_negative_numbers',
        'als_max_iter': 'positive_int',
        'knn_neighbours': 'positive_ints',
        'knn_min_co_raters': 'positive_ints',
        'knn_engine': ['auto', 'sql', 'numpy'],
        'knn_numpy_max_ratings': 'positive_int',
        'ease_lambdas': 'positive_numbers',
        'ease_max_movies': 'positive_int',
        'implicit_ranks': 'positive_ints',
        'implicit_reg_params': 'non_negative_numbers',
        'implicit_alphas': 'positive_numbers',
        'implicit_max_iter': 'positive_int',
        'metric_curve_max_k': 'positive_int',
        'tuning_max_users': 'positive_int',
        'blend_depth': 'positive_int',
    }) }}
{% endmacro %}


{% macro var_problem(value, kind) %}
    {#- '' when `value` is of `kind`, else what was expected. Numbers are YAML numbers
        (a quoted "10" is a string); NaN and infinities are not numbers here. -#}
    {%- if kind is not string -%}
        {{ return('' if value is string and value in kind else 'one of ' ~ kind | join(', ')) }}
    {%- endif -%}
    {%- set expected = {
        'positive_int': 'a positive integer',
        'int': 'an integer',
        'number_0_1': 'a number in [0, 1]',
        'number_0_1_exclusive': 'a number in (0, 1), both ends excluded',
        'positive_ints': 'a non-empty list of positive integers',
        'non_negative_numbers': 'a non-empty list of numbers >= 0',
        'positive_number': 'a number > 0',
        'positive_numbers': 'a non-empty list of numbers > 0',
        'split_weights': 'a list of 3 positive numbers (train, validation, test)',
        'optional_text': 'null or a non-empty string',
        'optional_identifier': 'null or a schema name (letters, digits, _)',
    } -%}
    {%- if kind not in expected -%}
        {{ exceptions.raise_compiler_error("var_kinds(): unknown kind '" ~ kind ~ "'") }}
    {%- endif -%}
    {%- set is_list = value is iterable and value is not string and value is not mapping -%}
    {%- set items = value if is_list else [value] -%}
    {%- set checked = namespace(ok=(not is_list) or (items | length > 0)) -%}
    {%- for item in items -%}
        {%- set is_int = item is integer -%}
        {%- set is_number = is_int or (item is float and (item - item) == 0) -%}
        {%- if kind in ('positive_int', 'positive_ints') -%}
            {%- set item_ok = is_int and item > 0 -%}
        {%- elif kind == 'int' -%}
            {%- set item_ok = is_int -%}
        {%- elif kind == 'number_0_1' -%}
            {%- set item_ok = is_number and 0 <= item <= 1 -%}
        {%- elif kind == 'number_0_1_exclusive' -%}
            {%- set item_ok = is_number and 0 < item < 1 -%}
        {%- elif kind == 'non_negative_numbers' -%}
            {%- set item_ok = is_number and item >= 0 -%}
        {%- elif kind in ('positive_number', 'positive_numbers', 'split_weights') -%}
            {%- set item_ok = is_number and item > 0 -%}
        {%- elif kind == 'optional_text' -%}
            {%- set item_ok = item is none or (item is string and item | trim != '') -%}
        {%- else -%}
            {%- set item_ok = item is none or (item is string
                and modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', item) is not none) -%}
        {%- endif -%}
        {%- set checked.ok = checked.ok and item_ok -%}
    {%- endfor -%}
    {%- set wants_list = kind in (
        'positive_ints', 'non_negative_numbers', 'positive_numbers', 'split_weights') -%}
    {%- set shape_ok = is_list == wants_list
        and (kind != 'split_weights' or items | length == 3) -%}
    {{ return('' if checked.ok and shape_ok else expected[kind]) }}
{% endmacro %}


{% macro check_vars() %}
    {#- on-run-start hook (first): raises one line naming every var whose value is not of
        its kind. Runs when dbt parses the hook as well as when it runs it. -#}
    {%- set problems = [] -%}
    {%- for name, kind in var_kinds().items() -%}
        {%- set value = var(name, '__undefined__') -%}
        {%- if value != '__undefined__' -%}
            {%- set expected = var_problem(value, kind) -%}
            {%- if expected -%}
                {%- do problems.append(name ~ ' = ' ~ tojson(value) ~ ': expected ' ~ expected) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error('Invalid var ' ~ problems | join('; invalid var ')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- dbt's own schema naming, after check_vars() for each model (dbt parses models first;
        a model's own Jinja renders before its name, see the header). -#}
    {%- if node.resource_type == 'model' -%}
        {%- do check_vars() -%}
    {%- endif -%}
    {{ return(default__generate_schema_name(custom_schema_name, node)) }}
{%- endmacro %}
