-- For every catalog movie, its `top_n` similar movies with both titles: first the served
-- collaborative method's (the one ml_similarity_evaluation chose on the validation split),
-- fitted on every validated rating, then, when those are fewer than `top_n`, content
-- neighbours (genres, release year, tags; first a movie's tag-genome neighbours, when the
-- validation split chose content_genome). Protocol: doc `similar_movies_protocol`.
with

pair_scores as (

    select
        movie1_id,
        movie2_id,
        num_pairs,
        sum_xy,
        score
    from {{ ref('int_movie_pair_scores') }}

),

movies as (

    select
        movie_id,
        title,
        genres,
        release_year,
        num_ratings
    from {{ ref('dim_movies') }}

),

tags as (

    select
        movie_id,
        tag
    from {{ ref('stg_movielens__tags') }}

),

served_content_method as (

    select method
    from {{ ref('ml_similarity_evaluation') }}
    where is_served_content

),

genome_neighbours as (

    -- The tag genome's neighbours, when content from them measured better than without them
    -- (else empty).
    select
        neighbours.movie_id,
        neighbours.similar_movie_id,
        neighbours.score
    from {{ ref('int_genome_neighbours') }} as neighbours
    left semi join served_content_method
        on served_content_method.method = 'content_genome'

),

served_method as (

    select method
    from {{ ref('ml_similarity_evaluation') }}
    where is_served

),

served_pair_method as (

    -- The served method when the pair aggregates define it (not one of
    -- int_matrix_similar_movies').
    select method
    from served_method
    where method not in ({{ quoted_list(matrix_similarity_methods()) }})

),

matrix_lists as (

    -- int_matrix_similar_movies' lists over every rating, when one of its methods is served
    -- (the columns in the order of collaborative_similar_movies()).
    select
        matrix.method,
        matrix.movie_id,
        matrix.similar_movie_id,
        matrix.score,
        matrix.num_pairs,
        matrix.similarity_rank
    from {{ ref('int_matrix_similar_movies') }} as matrix
    left semi join served_method
        on matrix.method = served_method.method
    where matrix.scope = 'all'

),

ratings as (

    select
        user_id,
        movie_id,
        rating
    from {{ ref('int_ratings_validated') }}

),

movie_counts as (

    -- macros/similarity.sql: raters, sum of squared ratings and genres of every rated movie
    {{ rated_movies('ratings', 'movies') }}

),

pair_lists as (

    {{ collaborative_similar_movies(
        'pair_scores', 'movie_counts', 'served_pair_method', var('top_n')) }}

),

collaborative_lists as (

    -- The served method's lists: from the pair aggregates, or from the rating matrix (one
    -- of the two is empty).
    select * from pair_lists
    union all
    select * from matrix_lists

),

-- Deep enough to complete any list after the collaborative rows it repeats.
content_lists as (

    {{ content_similar_movies(
        'movies', 'movie_counts', 'tags', 'genome_neighbours', 2 * var('top_n')) }}

),

combined as (

    -- The collaborative rows first, then the content rows (one reference to each list: a
    -- second one would rank every pair again).
    select
        movie_id,
        similar_movie_id,
        score,
        num_pairs,
        method,
        0 as list_part,
        similarity_rank as part_rank
    from collaborative_lists

    union all

    select
        movie_id,
        similar_movie_id,
        score,
        cast(null as bigint) as num_pairs,
        if(uses_genome, 'content_genome', 'content') as method,  -- noqa: RF04
        1 as list_part,
        similarity_rank as part_rank
    from content_lists

),

first_listings as (

    -- A content row that repeats a collaborative one is dropped.
    select *
    from combined
    qualify row_number() over (
        partition by movie_id, similar_movie_id
        order by list_part asc
    ) = 1

),

ordered as (

    select
        movie_id,
        similar_movie_id,
        score,
        num_pairs,
        method,
        row_number() over (
            partition by movie_id
            order by list_part asc, part_rank asc
        ) as similarity_rank
    from first_listings

),

top_ranked as (

    select
        *,
        case
            when count_if(method like 'content%') over (partition by movie_id) = 0
                then 'collaborative'
            when count_if(method not like 'content%') over (partition by movie_id) = 0
                then 'content'
            else 'hybrid'
        end as basis
    from ordered
    where similarity_rank <= {{ var('top_n') }}

),

titled as (

    select
        top_ranked.movie_id,
        movie.title as movie_title,
        cast(top_ranked.similarity_rank as int) as similarity_rank,
        top_ranked.similar_movie_id,
        similar_movie.title as similar_movie_title,
        top_ranked.score,
        top_ranked.num_pairs,
        top_ranked.method,
        top_ranked.basis
    from top_ranked
    inner join movies as movie
        on top_ranked.movie_id = movie.movie_id
    inner join movies as similar_movie
        on top_ranked.similar_movie_id = similar_movie.movie_id

)

select * from titled
