with

source as (

    select * from {{ movielens_relation('genome_tags') }}

),

renamed as (

    select
        ----------  ids
        try_cast(trim(tagId) as int) as tag_id,

        ---------- text
        trim(tag) as tag

    from source

)

select * from renamed
