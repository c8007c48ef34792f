{#-
    The MovieLens file layouts, as python_jobs/datasets/layouts.py tabulates them for the
    generator (Jinja cannot import it: tests/python_jobs/datasets/test_layouts.py keeps the
    two equal).

    With the var `movielens_path` set, the on-run-start hook `register_movielens_sources()`
    lists the files in that directory (local path or any Hadoop URI such as s3://...),
    detects the layout (or takes `movielens_layout`), registers every file as an external
    CSV table with all columns read as strings plus `_corrupt_record` (so no line is lost or
    crashes the read), and puts a view per entity on top that normalizes the layout to the
    ml-latest column names. Those views are the dbt sources `movielens.*`.

    Without `movielens_path`, `movielens_relation()` points the staging models at the demo
    seeds, which are in the ml-latest layout already.
-#}

{% macro movielens_layouts() %}
    {%- set csv_options = {
        'header': 'true', 'sep': ',', 'quote': '"', 'escape': '"', 'encoding': 'UTF-8'} -%}
    {%- set dat_utf8 = {
        'header': 'false', 'sep': '::', 'quote': '\\u0000', 'encoding': 'UTF-8'} -%}
    {%- set dat_latin1 = {
        'header': 'false', 'sep': '::', 'quote': '\\u0000', 'encoding': 'ISO-8859-1'} -%}
    {%- set ratings_columns = ['userId', 'movieId', 'rating', 'timestamp'] -%}
    {%- set movies_columns = ['movieId', 'title', 'genres'] -%}
    {%- set tags_columns = ['userId', 'movieId', 'tag', 'timestamp'] -%}
    {%- set links_columns = ['movieId', 'imdbId', 'tmdbId'] -%}
    {#- The tag genome (ml-latest, ML-20M, ML-25M): a relevance in [0, 1] of every genome tag
        for every movie it covers. -#}
    {%- set genome_scores_columns = ['movieId', 'tagId', 'relevance'] -%}
    {%- set genome_tags_columns = ['tagId', 'tag'] -%}
    {#- ML-100K keeps genres as 19 flag columns, in the order of its u.genre file. -#}
    {%- set genres_100k = [
        'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime',
        'Documentary', 'Drama', 'Fantasy', 'Film-Noir', 'Horror', 'Musical', 'Mystery',
        'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western'] -%}
    {%- set flag_columns = [] -%}
    {%- set flag_terms = [] -%}
    {%- for genre in genres_100k -%}
        {%- do flag_columns.append('genre_' ~ loop.index0) -%}
        {%- do flag_terms.append(
            "if(genre_" ~ loop.index0 ~ " = '1', '" ~ genre | replace("'", "\\'") ~ "', null)") -%}
    {%- endfor -%}
    {%- set genres_100k_expr =
        "nullif(concat_ws('|', " ~ flag_terms | join(', ') ~ "), '')" -%}

    {{ return({
        'ml-latest': {
            'description': 'ml-latest / ml-latest-small (ratings.csv, movies.csv, tags.csv, links.csv; genome-scores.csv, genome-tags.csv where the release has the tag genome)',
            'required': ['ratings.csv', 'movies.csv'],
            'entities': {
                'ratings': {'file': 'ratings.csv', 'options': csv_options, 'columns': ratings_columns},
                'movies': {'file': 'movies.csv', 'options': csv_options, 'columns': movies_columns},
                'tags': {'file': 'tags.csv', 'options': csv_options, 'columns': tags_columns},
                'links': {'file': 'links.csv', 'options': csv_options, 'columns': links_columns},
                'genome_scores': {
                    'file': 'genome-scores.csv', 'options': csv_options,
                    'columns': genome_scores_columns},
                'genome_tags': {
                    'file': 'genome-tags.csv', 'options': csv_options,
                    'columns': genome_tags_columns},
            },
        },
        'ml-10m': {
            'description': 'ML-10M (ratings.dat, movies.dat, tags.dat; "::"-delimited, UTF-8)',
            'required': ['ratings.dat', 'movies.dat'],
            'entities': {
                'ratings': {'file': 'ratings.dat', 'options': dat_utf8, 'columns': ratings_columns},
                'movies': {'file': 'movies.dat', 'options': dat_utf8, 'columns': movies_columns},
                'tags': {'file': 'tags.dat', 'options': dat_utf8, 'columns': tags_columns},
            },
        },
        'ml-1m': {
            'description': 'ML-1M (ratings.dat, movies.dat, users.dat; "::"-delimited, Latin-1)',
            'required': ['ratings.dat', 'movies.dat', 'users.dat'],
            'entities': {
                'ratings': {'file': 'ratings.dat', 'options': dat_latin1, 'columns': ratings_columns},
                'movies': {'file': 'movies.dat', 'options': dat_latin1, 'columns': movies_columns},
            },
        },
        'ml-100k': {
            'description': 'ML-100K (u.data tab-separated, u.item pipe-separated Latin-1)',
            'required': ['u.data', 'u.item'],
            'entities': {
                'ratings': {
                    'file': 'u.data',
                    'options': {'header': 'false', 'sep': '\\t', 'quote': '\\u0000', 'encoding': 'UTF-8'},
                    'columns': ratings_columns,
                },
                'movies': {
                    'file': 'u.item',
                    'options': {'header': 'false', 'sep': '|', 'quote': '\\u0000', 'encoding': 'ISO-8859-1'},
                    'columns': ['movieId', 'title', 'release_date', 'video_release_date', 'imdb_url'] + flag_columns,
                    'select': {'genres': genres_100k_expr},
                },
            },
        },
        'entity_columns': {
            'ratings': ratings_columns,
            'movies': movies_columns,
            'tags': tags_columns,
            'links': links_columns,
            'genome_scores': genome_scores_columns,
            'genome_tags': genome_tags_columns,
        },
    }) }}
{% endmacro %}


{% macro movielens_raw_schema() %}
    {{ return(var('movielens_raw_schema') or target.schema ~ '_raw') }}
{% endmacro %}


{% macro movielens_relation(entity) %}
    {#- Where staging reads `entity` from: the registered files, or the demo seeds. -#}
    {%- if var('movielens_path', none) -%}
        {{ return(source('movielens', entity)) }}
    {%- else -%}
        {{ return(ref('demo_' ~ entity)) }}
    {%- endif -%}
{% endmacro %}


{% macro movielens_files_relation() %}
    {#- The files under `movielens_path` (path, bytes, modification time); no rows for the
        demo seeds, which are not files of a data set. -#}
    {%- if var('movielens_path', none) -%}
        {{ return(source('movielens', 'files')) }}
    {%- else -%}
        {{ return('(select cast(null as string) as file_path, cast(null as bigint) as bytes,'
                  ~ ' cast(null as timestamp) as modified_at where false)') }}
    {%- endif -%}
{% endmacro %}


{% macro movielens_malformed_line() %}
    {#- The raw text of a line the CSV reader could not split into the expected fields. -#}
    {%- if var('movielens_path', none) -%}
        _corrupt_record
    {%- else -%}
        cast(null as string)
    {%- endif -%}
{% endmacro %}


{% macro movielens_source_file() %}
    {#- The file a rating line came from, relative to `movielens_path`: the data set's own
        ratings file, or `batches/<batch>/<file>` for a batch (movielens_file_view_sql). -#}
    {%- if var('movielens_path', none) -%}
        _source_file
    {%- else -%}
        'demo_ratings'
    {%- endif -%}
{% endmacro %}


{% macro movielens_load_order(source_file) %}
    {#- The SQL sort key of a ratings file in load order: the data set's own file (or the demo
        seeds) first, then the batches by name. -#}
    case when {{ source_file }} like 'batches/%' then {{ source_file }} else '' end
{%- endmacro %}


{% macro movielens_blank_line() %}
    {#- The raw text of a blank line (nothing but spaces or control characters), which the
        CSV reader skips: the source views of ratings and movies add a row for each. -#}
    {%- if var('movielens_path', none) -%}
        _blank_line
    {%- else -%}
        cast(null as string)
    {%- endif -%}
{% endmacro %}


{% macro movielens_detect_layout(path, file_names) %}
    {%- set layouts = movielens_layouts() -%}
    {%- set forced = var('movielens_layout', 'auto') -%}
    {%- set names = ['ml-latest', 'ml-1m', 'ml-10m', 'ml-100k'] -%}
    {%- set expected = [] -%}
    {%- for name in names -%}
        {%- do expected.append(layouts[name]['required'] | join(' + ') ~ ' (' ~ name ~ ')') -%}
    {%- endfor -%}
    {#- Spark lists no empty (0-byte) file: an empty required file counts as missing. -#}
    {%- set found = (file_names | join(', ') ~ ' (empty files count as missing)') if file_names
        else 'nothing (missing or empty directory)' -%}
    {%- if forced != 'auto' -%}
        {%- if forced not in names -%}
            {{ exceptions.raise_compiler_error(
                "movielens_layout '" ~ forced ~ "' is unknown: use auto, " ~ names | join(', ')) }}
        {%- endif -%}
        {%- set missing = layouts[forced]['required'] | reject('in', file_names) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                "movielens_path '" ~ path ~ "' lacks " ~ missing | join(', ')
                ~ " for movielens_layout '" ~ forced ~ "'; found: " ~ found) }}
        {%- endif -%}
        {{ return(forced) }}
    {%- endif -%}
    {%- for name in names -%}
        {%- set missing = layouts[name]['required'] | reject('in', file_names) | list -%}
        {%- if not missing -%}
            {{ return(name) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "movielens_path '" ~ path ~ "' holds no MovieLens data set: expected "
        ~ expected | join(' or ') ~ "; found: " ~ found) }}
{% endmacro %}


{% macro movielens_absolute_path(path) %}
    {#- Spark resolves a relative table location against the schema's directory in the
        warehouse, not against the directory dbt runs in, so `../data/ml-latest-small` would
        find nothing. On the local session the driver JVM runs in dbt's own working
        directory: a relative path (or `~/...`) is made absolute from it. A server cannot
        know where dbt runs, so there a relative path is an error. -#}
    {%- if path.startswith('/') or modules.re.match('^[A-Za-z][A-Za-z0-9+.-]*:', path) -%}
        {{ return(path) }}
    {%- endif -%}
    {%- if target.method != 'session' -%}
        {{ exceptions.raise_compiler_error(
            "movielens_path '" ~ path ~ "' is relative: the " ~ target.method ~ " target '"
            ~ target.name ~ "' reads on a server, so give an absolute path or a URI such as"
            ~ " s3://bucket/ml-latest-small") }}
    {%- endif -%}
    {%- set dirs = run_query(
        "select java_method('java.lang.System', 'getProperty', 'user.dir'),"
        ~ " java_method('java.lang.System', 'getProperty', 'user.home')").rows[0] -%}
    {%- if path == '~' or path.startswith('~/') -%}
        {%- set parts = (dirs[1] ~ path[1:]).split('/') -%}
    {%- else -%}
        {%- set parts = (dirs[0] ~ '/' ~ path).split('/') -%}
    {%- endif -%}
    {#- Written out without `.` and `..`, as the messages and source comments show it. -#}
    {%- set kept = [] -%}
    {%- for part in parts if part not in ['', '.'] -%}
        {%- if part == '..' -%}
            {%- if kept -%}
                {%- do kept.pop() -%}
            {%- endif -%}
        {%- else -%}
            {%- do kept.append(part) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('/' ~ kept | join('/')) }}
{% endmacro %}


{% macro register_movielens_sources() %}
    {%- set path = var('movielens_path', none) -%}
    {%- if not path or not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set path = path | string | trim -%}
    {%- if path.endswith('/') -%}
        {%- set path = path[:-1] -%}
    {%- endif -%}
    {%- set path = movielens_absolute_path(path) -%}
    {%- set quoted_path = path | replace("\\", "\\\\") | replace("'", "\\'") -%}
    {%- set raw = movielens_raw_schema() -%}
    {%- set layouts = movielens_layouts() -%}

    {#- Registered tables are named by a hash of what they read (path, options, columns), so
        a repeated build finds them (one `show tables`) and creates nothing, and a changed
        path gets new ones: few metastore round trips on every invocation. -#}
    {%- do run_query('create schema if not exists ' ~ raw) -%}
    {%- set registered = run_query('show tables in ' ~ raw).columns['tableName'].values() | list -%}
    {#- The listing is recursive (batches sit in subdirectories) and infers no partitions. -#}
    {%- set files_ddl = "using binaryFile options (recursiveFileLookup 'true') location '"
        ~ quoted_path ~ "'" -%}
    {%- set files_table = 'movielens_files_' ~ local_md5(files_ddl)[:12] -%}
    {#- A table over a missing location reads as empty, so a wrong path reaches our message;
        the listing is read anew at every query. -#}
    {%- if files_table not in registered -%}
        {%- do run_query(
            'create table if not exists ' ~ raw ~ '.' ~ files_table ~ ' ' ~ files_ddl) -%}
    {%- endif -%}
    {%- set files_table = raw ~ '.' ~ files_table -%}
    {#- Each file's path below `movielens_path`: a data set's own files, and
        `batches/<batch>/<file>` (`batch_files` below). -#}
    {%- set relative_path = "substring(path, instr(path, '" ~ quoted_path ~ "/') + "
        ~ (path | length + 1) ~ ")" -%}
    {#- Only the path column: the files are listed, not read, and no shuffle runs. -#}
    {%- set listing = run_query(
        "select " ~ relative_path ~ " as relative_path from " ~ files_table) -%}
    {%- set relative_paths = listing.columns[0].values() | unique | sort | list -%}
    {%- set file_names = [] -%}
    {%- for relative in relative_paths if '/' not in relative -%}
        {%- do file_names.append(relative) -%}
    {%- endfor -%}
    {%- set layout_name = movielens_detect_layout(path, file_names) -%}
    {%- set layout = layouts[layout_name] -%}
    {{ log('MovieLens layout ' ~ layout_name ~ ' at ' ~ path ~ ': ' ~ layout['description'],
           info=true) }}
    {%- set ratings_file = layout['entities']['ratings']['file'] -%}
    {%- set batch_files = [] -%}
    {%- for relative in relative_paths
        if modules.re.match('^batches/[^/]+/' ~ modules.re.escape(ratings_file) ~ '$', relative) -%}
        {%- do batch_files.append(relative) -%}
    {%- endfor -%}
    {%- if batch_files -%}
        {{ log('MovieLens batches: ' ~ batch_files | length ~ ' ratings file(s) under '
               ~ path ~ '/batches/', info=true) }}
    {%- endif -%}

    {#- Each source view carries the hash of its definition in its comment; a view whose
        definition is unchanged is left alone (one metastore listing instead of a
        `create or replace view` per entity on every invocation). -#}
    {%- set existing_info = run_query(
        'show table extended in ' ~ raw ~ " like '"
        ~ layouts['entity_columns'].keys() | join('|') ~ "|files'").columns['information'].values()
        | join('\n') -%}

    {#- The files as listed: what `fct_loaded_files` reports beside their lines. -#}
    {%- set files_sql = 'select ' ~ relative_path ~ ' as `file_path`, `length` as `bytes`,'
        ~ ' `modificationTime` as `modified_at` from ' ~ files_table -%}
    {%- set definition = 'definition ' ~ local_md5('files ' ~ files_sql)[:12] -%}
    {%- if (definition ~ ')') not in existing_info -%}
        {%- do run_query('create or replace view ' ~ raw ~ ".files comment 'MovieLens files under "
            ~ quoted_path ~ ' (' ~ definition ~ ")' as " ~ files_sql) -%}
    {%- endif -%}

    {#- The entities whose every line is checked (int_*_checked): their views add blank lines. -#}
    {%- set checked_entities = ['ratings', 'movies'] -%}
    {%- for entity, columns in layouts['entity_columns'].items() -%}
        {%- set spec = layout['entities'].get(entity) -%}
        {%- set null_list = [] -%}
        {%- for column in columns -%}
            {%- do null_list.append('cast(null as string)') -%}
        {%- endfor -%}
        {%- if spec and spec['file'] in file_names -%}
            {#- Where the entity's lines are read from, and what each part records as their
                `_source_file`: the data set's file, then (ratings) every batch's. -#}
            {%- set parts = [(quoted_path ~ '/' ~ spec['file'], "'" ~ spec['file'] ~ "'")] -%}
            {%- if entity == 'ratings' and batch_files -%}
                {%- do parts.append((quoted_path ~ '/batches/*/' ~ spec['file'],
                    "regexp_extract(input_file_name(), 'batches/[^/]+/[^/]+$', 0)")) -%}
            {%- endif -%}
            {%- set part_sql = [] -%}
            {%- for location, source_file in parts -%}
                {%- do part_sql.append(movielens_file_view_sql(
                    raw, registered, entity, spec, columns, location,
                    source_file if entity == 'ratings' else none,
                    entity in checked_entities, null_list)) -%}
            {%- endfor -%}
            {%- set view_sql = part_sql | join(' union all ') -%}
            {%- set view_comment = 'MovieLens ' ~ entity ~ ' from ' ~ quoted_path ~ '/' ~ spec['file']
                ~ (' and batches/*/' ~ spec['file'] if parts | length > 1 else '') -%}
        {%- else -%}
            {#- This layout has no such file: an empty view with the same columns. -#}
            {%- set select_list = [] -%}
            {%- for column in columns -%}
                {%- do select_list.append('cast(null as string) as `' ~ column ~ '`') -%}
            {%- endfor -%}
            {%- set view_sql = 'select ' ~ select_list | join(', ')
                ~ ', cast(null as string) as `_corrupt_record`'
                ~ (', cast(null as string) as `_blank_line`' if entity in checked_entities else '')
                ~ ' where false' -%}
            {%- set view_comment =
                'MovieLens ' ~ entity ~ ': none in the ' ~ layout_name ~ ' layout' -%}
        {%- endif -%}
        {%- set definition = 'definition ' ~ local_md5(entity ~ ' ' ~ view_sql)[:12] -%}
        {%- if (definition ~ ')') not in existing_info -%}
            {%- do run_query(
                'create or replace view ' ~ raw ~ '.' ~ entity
                ~ " comment '" ~ view_comment ~ ' (' ~ definition ~ ")' as " ~ view_sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}


{% macro movielens_file_view_sql(raw, registered, entity, spec, columns, location, source_file,
                                 checked, null_list) %}
    {#- The select of one entity's lines at `location` (a file or a glob of batch files),
        registering the external tables it reads: the CSV table (every field a string, plus
        `_corrupt_record`) and, for the checked entities, a text table for blank lines.
        `source_file` (an expression, or none) becomes the column `_source_file`. -#}
    {%- set column_ddl = [] -%}
    {%- for column in spec['columns'] -%}
        {%- do column_ddl.append('`' ~ column ~ '` string') -%}
    {%- endfor -%}
    {%- set option_sql = [] -%}
    {%- for key, value in spec['options'].items() -%}
        {%- do option_sql.append(key ~ " '" ~ value ~ "'") -%}
    {%- endfor -%}
    {%- set file_table_ddl = '('
        ~ column_ddl | join(', ') ~ ', `_corrupt_record` string) using csv options ('
        ~ option_sql | join(', ')
        ~ ", mode 'PERMISSIVE', columnNameOfCorruptRecord '_corrupt_record'"
        ~ ", path '" ~ location ~ "')" -%}
    {%- set file_table = entity ~ '_file_' ~ local_md5(file_table_ddl)[:12] -%}
    {%- if file_table not in registered -%}
        {%- do run_query(
            'create table if not exists ' ~ raw ~ '.' ~ file_table ~ ' ' ~ file_table_ddl) -%}
    {%- endif -%}
    {%- set file_table = raw ~ '.' ~ file_table -%}
    {%- set select_list = [] -%}
    {%- for column in columns -%}
        {%- set expression = spec.get('select', {}).get(column, '`' ~ column ~ '`') -%}
        {%- do select_list.append(expression ~ ' as `' ~ column ~ '`') -%}
    {%- endfor -%}
    {%- set source_column = (', ' ~ source_file ~ ' as `_source_file`') if source_file else '' -%}
    {%- if not checked -%}
        {{ return('select ' ~ select_list | join(', ') ~ ', `_corrupt_record`' ~ source_column
                  ~ ' from ' ~ file_table) }}
    {%- endif -%}
    {#- Spark's CSV reader counts a line's fields only when a query reads every column
        (column pruning): where the view leaves columns unread (ml-100k's u.item),
        `_corrupt_record` is read together with all of them. -#}
    {%- set malformed = '`_corrupt_record`' -%}
    {%- if spec['columns'] | reject('in', columns) | list -%}
        {%- set raw_columns = [] -%}
        {%- for column in spec['columns'] -%}
            {%- do raw_columns.append('`' ~ column ~ '`') -%}
        {%- endfor -%}
        {%- set malformed = "case when length(concat_ws('', "
            ~ raw_columns | join(', ') ~ ")) >= 0 then `_corrupt_record` end" -%}
    {%- endif -%}
    {#- The CSV reader skips blank lines (nothing but characters up to the space, NUL and CR
        included); reading the file as text finds them, so that every line of the file is a
        row of the view (the first character is compared before the pattern: a data line's
        digit ends the test). -#}
    {%- set lines_table_ddl = "(`value` string) using text options (path '" ~ location ~ "')" -%}
    {%- set lines_table = entity ~ '_lines_' ~ local_md5(lines_table_ddl)[:12] -%}
    {%- if lines_table not in registered -%}
        {%- do run_query('create table if not exists ' ~ raw ~ '.' ~ lines_table
            ~ ' ' ~ lines_table_ddl) -%}
    {%- endif -%}
    {{ return('select ' ~ select_list | join(', ') ~ ', ' ~ malformed
        ~ ' as `_corrupt_record`, cast(null as string) as `_blank_line`' ~ source_column
        ~ ' from ' ~ file_table ~ ' union all select ' ~ null_list | join(', ')
        ~ ', cast(null as string), `value`' ~ source_column ~ ' from ' ~ raw ~ '.' ~ lines_table
        ~ " where (`value` = '' or substr(`value`, 1, 1) <= ' ')"
        ~ " and `value` rlike '^[\\\\x00-\\\\x20]*$'") }}
{% endmacro %}
