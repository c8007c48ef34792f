with

source as (

    select * from {{ movielens_relation('genome_scores') }}

),

renamed as (

    select
        ----------  ids
        try_cast(trim(movieId) as int) as movie_id,
        try_cast(trim(tagId) as int) as tag_id,

        ---------- numerics
        try_cast(trim(relevance) as double) as relevance

    from source

)

select * from renamed
