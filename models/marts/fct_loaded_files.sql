-- One row per ratings file read by this build: the data set's own file, then every batch
-- under `batches/` in load order, with how many of its lines were validated and quarantined.
with

checked as (

    select * from {{ ref('int_ratings_checked') }}

),

files as (

    select * from {{ movielens_files_relation() }}

),

per_file as (

    select
        source_file,
        count(*) as line_count,
        count_if(reject_reason is null) as validated,
        count_if(reject_reason is not null) as quarantined,
        count_if(reject_reason like 'repeat of a rating already loaded%') as repeated,
        count_if(reject_reason like 'duplicate rating of the same%') as replaced,
        max(case when reject_reason is null then rated_at end) as newest_rated_at
    from checked
    group by source_file

),

described as (

    select
        per_file.source_file,
        case
            when per_file.source_file like 'batches/%'
                then regexp_extract(per_file.source_file, '^batches/([^/]+)/', 1)
        end as batch,
        row_number() over (
            order by {{ movielens_load_order('per_file.source_file') }}
        ) - 1 as load_order,
        per_file.line_count as lines_read,
        per_file.validated,
        per_file.quarantined,
        per_file.repeated,
        per_file.replaced,
        per_file.newest_rated_at,
        files.bytes,
        files.modified_at
    from per_file
    left join files
        on per_file.source_file = files.file_path

)

select * from described
