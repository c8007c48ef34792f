{#-
    The similar-movie methods, written once: ml_similarity_evaluation (fitted on the training
    split, every method) and fct_similar_movies (fitted on every validated rating, the served
    method) call them. Definitions: doc `similar_movies_protocol` (models/marts/
    similar_movies.md).
-#}

{% macro collaborative_similarity_methods() %}
    {#- The collaborative candidates computed from the pair aggregates
        (collaborative_similar_movies()), in the evaluation table's order. -#}
    {{ return(['seed_cosine', 'binary_cosine', 'genre_binary_cosine', 'asymmetric_cosine',
        'jaccard', 'lift', 'cooccurrence', 'item_knn_cosine']) }}
{% endmacro %}


{% macro has_tag_genome(genome_neighbours) %}
    {#- Whether the data set has a tag genome: one row of `genome_neighbours` (a relation:
        ref('int_genome_neighbours'), resolved by the caller at parse time so that dbt sees
        the dependency). False while dbt parses. -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query('select 1 from ' ~ genome_neighbours ~ ' limit 1') -%}
    {{ return(found.rows | length > 0) }}
{% endmacro %}


{% macro quoted_list(values) %}
    {#- `values` as SQL string literals separated by commas: 'a', 'b'. -#}
    {{ return("'" ~ values | join("', '") ~ "'") }}
{% endmacro %}


{% macro set_jaccard(left, right) %}
    {#- The SQL expression of the Jaccard index of two array columns: |left ∩ right| /
        |left ∪ right|, 0 when both are empty or either is null. -#}
    {{ return('coalesce(size(array_intersect(' ~ left ~ ', ' ~ right ~ ')) / nullif(size('
        ~ 'array_union(' ~ left ~ ', ' ~ right ~ ')), 0), 0)') }}
{% endmacro %}


{% macro rated_movies(ratings, movies) %}
    {#- Every movie of `ratings` (user_id, movie_id, rating) with its raters, the sum of
        its squared ratings and its genres from `movies` (movie_id, genres): the
        movie_counts of collaborative_similar_movies() and content_similar_movies(). -#}
    with

    rating_totals as (

        select
            movie_id,
            count(*) as num_raters,
            sum(rating * rating) as sum_squares
        from {{ ratings }}
        group by movie_id

    )

    select
        rating_totals.movie_id,
        rating_totals.num_raters,
        rating_totals.sum_squares,
        movies.genres
    from rating_totals
    inner join {{ movies }} as movies
        on rating_totals.movie_id = movies.movie_id
{% endmacro %}


{% macro matrix_similarity_methods() %}
    {#- The collaborative candidates computed from the rating matrix by a Python model
        (int_matrix_similar_movies, python_jobs/similar_items.py). -#}
    {{ return(['ease', 'adjusted_cosine']) }}
{% endmacro %}


{% macro similarity_score(method) %}
    {#- The SQL expression of `method`'s score over a row of collaborative_similar_movies'
        directed pairs (num_pairs, num_raters, similar_num_raters, rating_cosine,
        full_norm_cosine, genre_jaccard). -#}
    {%- set shrinkage = var('similarity_shrinkage') -%}
    {%- set alpha = var('similarity_asymmetry') | float -%}
    {%- set binary = 'num_pairs / sqrt(num_raters * similar_num_raters) * num_pairs / (num_pairs + '
        ~ shrinkage ~ ')' -%}
    {%- set scores = {
        'seed_cosine': 'rating_cosine',
        'binary_cosine': binary,
        'genre_binary_cosine': binary ~ ' * (1 + ' ~ (var('similarity_genre_weight') | float)
            ~ ' * genre_jaccard)',
        'asymmetric_cosine': 'num_pairs / (pow(num_raters, ' ~ alpha
            ~ ') * pow(similar_num_raters, ' ~ (1 - alpha) ~ '))',
        'jaccard': 'num_pairs / (num_raters + similar_num_raters - num_pairs)',
        'lift': 'num_pairs / (num_raters * similar_num_raters)',
        'cooccurrence': 'cast(num_pairs as double)',
        'item_knn_cosine': 'full_norm_cosine',
    } -%}
    {%- if method not in scores -%}
        {{ exceptions.raise_compiler_error("unknown similarity method '" ~ method ~ "'") }}
    {%- endif -%}
    {{ return(scores[method]) }}
{% endmacro %}


{% macro similarity_lists_pair(method) %}
    {#- The SQL condition under which `method` lists a directed pair: the seed's filters for
        seed_cosine, at least `similarity_min_co_raters` co-raters for the others. -#}
    {%- if method == 'seed_cosine' -%}
        {{ return('num_pairs >= ' ~ var('min_co_raters') ~ ' and rating_cosine >= '
            ~ var('min_similarity')) }}
    {%- endif -%}
    {{ return('num_pairs >= ' ~ var('similarity_min_co_raters')) }}
{% endmacro %}


{% macro collaborative_similar_movies(pair_scores, movie_counts, methods, depth) %}
    {#-
        The `depth` most similar movies of every movie in pairs, per method: one query.

        pair_scores   movie1_id < movie2_id, num_pairs, sum_xy, score (the seed's rating
                      cosine), as int_movie_pair_scores (movies with fewer than
                      `min_co_raters` raters are absent).
        movie_counts  movie_id, num_raters, sum_squares (of its ratings), genres (array,
                      may be null): every rated movie of the scope.
        methods       a list of method names (collaborative_similarity_methods()), known
                      when the query compiles: every pair is scored once with a column per
                      method and ranked by movie, one shuffle for all of them; or the name
                      of a relation with a `method` column (the served method, known only
                      when the query runs): the pairs are joined to it and ranked by
                      (method, movie).

        Returns method, movie_id, similar_movie_id, score, num_pairs, similarity_rank, in
        this order. With n_ij co-raters and n_i, n_j raters of the anchor i and the listed movie j
        (similarity_score() writes each):
        seed_cosine  the seed's score, kept at num_pairs >= min_co_raters and score >=
                     min_similarity (the seed's filters);
        binary_cosine      n_ij / sqrt(n_i n_j) * n_ij / (n_ij + similarity_shrinkage);
        genre_binary_cosine  binary_cosine * (1 + similarity_genre_weight * g_ij), g_ij the
                     Jaccard index of the two movies' genre sets: the hybrid, content
                     nudging collaborative scores that rest on thin evidence;
        asymmetric_cosine  n_ij / (n_i^a n_j^(1 - a)), a = similarity_asymmetry;
        jaccard      n_ij / (n_i + n_j - n_ij);   lift  n_ij / (n_i n_j);
        cooccurrence n_ij;
        item_knn_cosine    sum_xy / sqrt(s_i s_j), s the sum of squares of all of a movie's
                     ratings: the full-norm rating cosine the item-kNN recommender weighs
                     neighbours by (macros/item_knn.sql);
        every method but the seed's on pairs with num_pairs >= similarity_min_co_raters.
        Ranked by score, then more co-raters, then the smaller movie id.
    -#}
    {%- set floor = [var('min_co_raters'), var('similarity_min_co_raters')] | min %}
    {%- set known = methods is not string %}
    {%- set all_methods = collaborative_similarity_methods() %}
    with

    counted_pairs as (

        select
            pair_scores.movie1_id,
            pair_scores.movie2_id,
            pair_scores.num_pairs,
            pair_scores.score as rating_cosine,
            pair_scores.sum_xy / sqrt(first_movie.sum_squares * second_movie.sum_squares)
                as full_norm_cosine,
            {{ set_jaccard('first_movie.genres', 'second_movie.genres') }} as genre_jaccard,
            first_movie.num_raters as raters1,
            second_movie.num_raters as raters2
        from {{ pair_scores }} as pair_scores
        inner join {{ movie_counts }} as first_movie
            on pair_scores.movie1_id = first_movie.movie_id
        inner join {{ movie_counts }} as second_movie
            on pair_scores.movie2_id = second_movie.movie_id
        where pair_scores.num_pairs >= {{ floor }}

    ),

    directed_pairs as (

        -- Each pair once per direction (one scan of the pairs, not a union of two).
        select
            direction.movie_id,
            direction.similar_movie_id,
            cast(direction.num_raters as double) as num_raters,
            cast(direction.similar_num_raters as double) as similar_num_raters,
            counted_pairs.num_pairs,
            counted_pairs.rating_cosine,
            counted_pairs.full_norm_cosine,
            counted_pairs.genre_jaccard
        from counted_pairs
        lateral view inline(array(
            named_struct(
                'movie_id', movie1_id, 'similar_movie_id', movie2_id,
                'num_raters', raters1, 'similar_num_raters', raters2
            ),
            named_struct(
                'movie_id', movie2_id, 'similar_movie_id', movie1_id,
                'num_raters', raters2, 'similar_num_raters', raters1
            )
        )) direction as movie_id, similar_movie_id, num_raters, similar_num_raters

    ),
    {%- if known %}

    scored_pairs as (

        -- One column per method: its score where it lists the pair, else null. Spread over
        -- 4 x pair_partitions tasks by movie: the windows below sort each task's rows once
        -- per method, and every sort holds the task's rows.
        select /*+ repartition({{ 4 * var('pair_partitions') }}, movie_id) */
            movie_id,
            similar_movie_id,
            num_pairs,
            {%- for method in methods %}
            case
                when {{ similarity_lists_pair(method) }}
                    then {{ similarity_score(method) }}
            end as score_{{ method }}{{ ',' if not loop.last }}
            {%- endfor %}
        from directed_pairs

    ),

    ranked_pairs as (

        -- Every window partitions by movie: one shuffle, a sort per method.
        select
            *,
            {%- for method in methods %}
            row_number() over (
                partition by movie_id
                order by score_{{ method }} desc nulls last, num_pairs desc, similar_movie_id asc
            ) as rank_{{ method }}{{ ',' if not loop.last }}
            {%- endfor %}
        from scored_pairs

    ),

    listed_pairs as (

        select
            listing.method,
            ranked_pairs.movie_id,
            ranked_pairs.similar_movie_id,
            listing.score,
            ranked_pairs.num_pairs,
            listing.similarity_rank
        from ranked_pairs
        lateral view inline(array(
            {%- for method in methods %}
            named_struct(
                'method', '{{ method }}', 'score', score_{{ method }},
                'similarity_rank', rank_{{ method }}
            ){{ ',' if not loop.last }}
            {%- endfor %}
        )) listing as method, score, similarity_rank
        where listing.score is not null and listing.similarity_rank <= {{ depth }}

    )

    select * from listed_pairs
    {%- else %}

    scored_pairs as (

        select /*+ broadcast(methods) */
            methods.method,
            directed_pairs.movie_id,
            directed_pairs.similar_movie_id,
            directed_pairs.num_pairs,
            case methods.method
                {%- for method in all_methods %}
                when '{{ method }}' then {{ similarity_score(method) }}
                {%- endfor %}
                else raise_error(concat('unknown similarity method ', methods.method))
            end as score
        from directed_pairs
        inner join {{ methods }} as methods
            on
                case methods.method
                    {%- for method in all_methods %}
                    when '{{ method }}' then {{ similarity_lists_pair(method) }}
                    {%- endfor %}
                    else false
                end

    ),

    ranked_pairs as (

        select
            *,
            row_number() over (
                partition by method, movie_id
                order by score desc, num_pairs desc, similar_movie_id asc
            ) as similarity_rank
        from scored_pairs

    )

    -- The literal bound lets Spark keep only that many rows per movie while ranking.
    select
        method,
        movie_id,
        similar_movie_id,
        score,
        num_pairs,
        similarity_rank
    from ranked_pairs
    where similarity_rank <= {{ depth }}
    {%- endif %}
{% endmacro %}


{% macro content_similar_movies(movies, movie_counts, tags, genome_neighbours, depth) %}
    {#-
        The `depth` most similar rated movies of every catalog movie by content: one query.

        movies             movie_id, genres (array), release_year: the catalog.
        movie_counts       movie_id, num_raters: the rated movies, the only ones listed.
        tags               movie_id, tag (may be empty).
        genome_neighbours  movie_id, similar_movie_id, score: each tag-genome movie's nearest
                           genome movies by the cosine of their relevance vectors
                           (int_genome_neighbours; empty without a genome).

        First, for a movie of the genome, its genome neighbours that are rated, scored by
        their cosine (`uses_genome` true). Then the pool: the `content_pool_per_genre`
        most-rated movies of each of the anchor's genres, and as many of the most-rated
        movies overall (so that a movie without genres gets a list too), scored 0.6 genre
        Jaccard + 0.25 year closeness (1 - |year gap| / 10, at least 0; 0 without both years)
        + 0.15 tag Jaccard (lower-cased tags; 0 without tags); a pool movie that is also a
        genome neighbour keeps its genome row. Ranked genome rows first, by score, then more
        raters, then the smaller movie id.
        Returns movie_id, similar_movie_id, score, uses_genome, similarity_rank.
    -#}
    {%- set pool = var('content_pool_per_genre') %}
    with

    movie_tags as (

        select
            movie_id,
            collect_set(lower(tag)) as tags
        from {{ tags }}
        where movie_id is not null and tag is not null and tag != ''
        group by movie_id

    ),

    features as (

        select
            movies.movie_id,
            coalesce(movies.genres, array()) as genres,
            movies.release_year,
            coalesce(movie_tags.tags, array()) as tags,
            coalesce(movie_counts.num_raters, 0) as num_raters
        from {{ movies }} as movies
        left join movie_tags
            on movies.movie_id = movie_tags.movie_id
        left join {{ movie_counts }} as movie_counts
            on movies.movie_id = movie_counts.movie_id

    ),

    genre_ranks as (

        select
            movie_genre.genre,
            features.movie_id,
            row_number() over (
                partition by movie_genre.genre
                order by features.num_raters desc, features.movie_id asc
            ) as genre_rank
        from features
        lateral view explode(features.genres) movie_genre as genre
        where features.num_raters > 0

    ),

    overall_ranks as (

        select
            movie_id,
            row_number() over (order by num_raters desc, movie_id asc) as overall_rank
        from features
        where num_raters > 0

    ),

    anchor_genres as (

        select
            features.movie_id,
            movie_genre.genre
        from features
        lateral view explode(features.genres) movie_genre as genre

    ),

    candidates as (

        select
            anchor_genres.movie_id,
            genre_ranks.movie_id as similar_movie_id
        from anchor_genres
        inner join genre_ranks
            on
                anchor_genres.genre = genre_ranks.genre
                and genre_ranks.genre_rank <= {{ pool }}

        union

        select
            anchor.movie_id,
            overall_ranks.movie_id as similar_movie_id
        from features as anchor
        cross join overall_ranks
        where overall_ranks.overall_rank <= {{ pool }}

    ),

    genome_scored as (

        select
            neighbours.movie_id,
            neighbours.similar_movie_id,
            similar.num_raters,
            true as uses_genome,
            neighbours.score
        from {{ genome_neighbours }} as neighbours
        left semi join features as anchor
            on neighbours.movie_id = anchor.movie_id
        inner join features as similar
            on neighbours.similar_movie_id = similar.movie_id
        where similar.num_raters > 0

    ),

    pool_scored as (

        select
            candidates.movie_id,
            candidates.similar_movie_id,
            similar.num_raters,
            false as uses_genome,
            0.6 * {{ set_jaccard('anchor.genres', 'similar.genres') }}
            + 0.25 * coalesce(
                greatest(0, 1 - abs(anchor.release_year - similar.release_year) / 10.0), 0
            )
            + 0.15 * {{ set_jaccard('anchor.tags', 'similar.tags') }} as score
        from candidates
        inner join features as anchor
            on candidates.movie_id = anchor.movie_id
        inner join features as similar
            on candidates.similar_movie_id = similar.movie_id
        left anti join genome_scored
            on
                candidates.movie_id = genome_scored.movie_id
                and candidates.similar_movie_id = genome_scored.similar_movie_id
        where candidates.movie_id != candidates.similar_movie_id

    ),

    ranked as (

        select
            movie_id,
            similar_movie_id,
            cast(score as double) as score,
            uses_genome,
            row_number() over (
                partition by movie_id
                order by uses_genome desc, score desc, num_raters desc, similar_movie_id asc
            ) as similarity_rank
        from (
            select * from genome_scored
            union all
            select * from pool_scored
        )

    )

    select *
    from ranked
    where similarity_rank <= {{ depth }}
{% endmacro %}
