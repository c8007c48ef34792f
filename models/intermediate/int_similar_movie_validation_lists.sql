-- The similar-movie lists that ml_similarity_evaluation measures: every method fitted on the
-- training split of ml_rating_splits (int_training_movie_pair_scores, the training rating
-- counts, the training scope of int_matrix_similar_movies, the catalog's genres, years,
-- tags and tag genome), `top_n` movies a movie, one row per (method, movie, listed movie),
-- plus the popularity list (the most-rated training movies). A table: the evaluation reads
-- it twice (the listed pairs it judges, and its coverage counts).
{%- set methods = collaborative_similarity_methods() %}
{%- set genome_neighbours = ref('int_genome_neighbours') %}
{#- Content is measured twice where the data set has a tag genome: without it (`content`)
    and with it (`content_genome`); fct_similar_movies completes its lists with the better. -#}
{%- set with_genome = has_tag_genome(genome_neighbours) %}
with

training_ratings as (

    select
        user_id,
        movie_id,
        rating
    from {{ ref('int_training_ratings') }}

),

training_pair_scores as (

    select
        movie1_id,
        movie2_id,
        num_pairs,
        sum_xy,
        score
    from {{ ref('int_training_movie_pair_scores') }}

),

matrix_lists as (

    select
        method,
        movie_id,
        similar_movie_id,
        score,
        similarity_rank
    from {{ ref('int_matrix_similar_movies') }}
    where scope = 'train'

),

catalog as (

    select
        movie_id,
        genres,
        release_year
    from {{ ref('dim_movies') }}

),

tags as (

    select
        movie_id,
        tag
    from {{ ref('stg_movielens__tags') }}

),

genome_neighbours as (

    select
        movie_id,
        similar_movie_id,
        score
    from {{ genome_neighbours }}

),

no_genome as (

    select *
    from genome_neighbours
    where false

),

training_movies as (

    -- macros/similarity.sql: raters, sum of squared ratings and genres of every movie with
    -- a training rating
    {{ rated_movies('training_ratings', 'catalog') }}

),

collaborative_lists as (

    {{ collaborative_similar_movies(
        'training_pair_scores', 'training_movies', methods, var('top_n')) }}

),

content_lists as (

    {{ content_similar_movies(
        'catalog', 'training_movies', 'tags', 'no_genome', var('top_n')) }}

),

genome_content_lists as (

    {{ content_similar_movies(
        'catalog', 'training_movies', 'tags', 'genome_neighbours', var('top_n')) }}

),

popular_movies as (

    select
        movie_id,
        num_raters,
        row_number() over (order by num_raters desc, movie_id asc) as popularity_rank
    from training_movies

),

popularity_lists as (

    -- The most-rated training movies but the anchor itself, for every catalog movie.
    select
        catalog.movie_id,
        popular_movies.movie_id as similar_movie_id,
        cast(popular_movies.num_raters as double) as score,
        row_number() over (
            partition by catalog.movie_id order by popular_movies.popularity_rank asc
        ) as similarity_rank
    from catalog
    cross join popular_movies
    where
        popular_movies.popularity_rank <= {{ var('top_n') + 1 }}
        and popular_movies.movie_id != catalog.movie_id
    qualify similarity_rank <= {{ var('top_n') }}

),

final as (

    select
        method,
        movie_id,
        similar_movie_id,
        cast(score as double) as score,
        similarity_rank
    from collaborative_lists

    union all

    select
        method,
        movie_id,
        similar_movie_id,
        score,
        similarity_rank
    from matrix_lists

    union all

    select
        'content' as method,  -- noqa: RF04
        movie_id,
        similar_movie_id,
        score,
        similarity_rank
    from content_lists

    union all

    -- Without a genome, Spark drops this branch unread (a constant false filter).
    select
        'content_genome' as method,  -- noqa: RF04
        movie_id,
        similar_movie_id,
        score,
        similarity_rank
    from genome_content_lists
    where {{ 'true' if with_genome else 'false' }}

    union all

    select
        'popularity' as method,  -- noqa: RF04
        movie_id,
        similar_movie_id,
        score,
        similarity_rank
    from popularity_lists

)

select * from final
