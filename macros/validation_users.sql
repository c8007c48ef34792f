{% macro sampled_validation_users(splits, carving=none) %}
    {#-
        The validation users whose lists a recommender tunes on: per carving of `splits`
        (ml_rating_splits' columns), at most `tuning_max_users` of them, the same seeded
        sample as the Python recommenders' (python_jobs/scopes.py). One row per carving
        (`validation_carving`) and user; only carving `carving` when it is given.
    -#}
    select
        validation_carving,
        user_id
    from (
        select
            validation_carving,
            user_id,
            row_number() over (
                partition by validation_carving
                order by xxhash64(17, user_id), user_id
            ) as sample_rank
        from {{ splits }}
        where
            {% if carving is none -%}
                validation_carving is not null
            {%- else -%}
                validation_carving = {{ carving }}
            {%- endif %}
        group by validation_carving, user_id
    ) as ranked_users
    where sample_rank <= {{ var('tuning_max_users') }}
{% endmacro %}
