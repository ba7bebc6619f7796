"""Extensions: which ones a Supabase project can enable, and the schemas some of them create."""

from __future__ import annotations

# Extensions a Supabase project can enable (its Postgres image ships them). A plain PostgreSQL
# has only its contrib modules, so a replay there cannot run a migration that creates one of
# the others; that says nothing against the migration.
SUPABASE_EXTENSIONS = frozenset(
    {
        "address_standardizer",
        "address_standardizer_data_us",
        "amcheck",
        "autoinc",
        "bloom",
        "btree_gin",
        "btree_gist",
        "citext",
        "cube",
        "dblink",
        "dict_int",
        "dict_xsyn",
        "earthdistance",
        "fuzzystrmatch",
        "hstore",
        "http",
        "hypopg",
        "index_advisor",
        "insert_username",
        "intarray",
        "isn",
        "lo",
        "ltree",
        "moddatetime",
        "pageinspect",
        "pg_buffercache",
        "pg_cron",
        "pg_freespacemap",
        "pg_graphql",
        "pg_hashids",
        "pg_jsonschema",
        "pg_net",
        "pg_prewarm",
        "pg_repack",
        "pg_stat_monitor",
        "pg_stat_statements",
        "pg_surgery",
        "pg_tle",
        "pg_trgm",
        "pg_visibility",
        "pg_walinspect",
        "pgaudit",
        "pgcrypto",
        "pgjwt",
        "pgmq",
        "pgroonga",
        "pgroonga_database",
        "pgrouting",
        "pgrowlocks",
        "pgsodium",
        "pgstattuple",
        "pgtap",
        "plcoffee",
        "plls",
        "plpgsql",
        "plpgsql_check",
        "plv8",
        "postgis",
        "postgis_raster",
        "postgis_sfcgal",
        "postgis_tiger_geocoder",
        "postgis_topology",
        "postgres_fdw",
        "refint",
        "rum",
        "seg",
        "sslinfo",
        "supabase_vault",
        "tablefunc",
        "tcn",
        "timescaledb",
        "tsm_system_rows",
        "tsm_system_time",
        "unaccent",
        "uuid-ossp",
        "vector",
        "wrappers",
    }
)

# Schemas an extension creates (or Supabase puts it in): "schema pgmq does not exist" means the extension.
EXTENSION_SCHEMAS: dict[str, str] = {
    "pgmq": "pgmq",
    "cron": "pg_cron",
    "net": "pg_net",
    "vault": "supabase_vault",
    "graphql": "pg_graphql",
    "graphql_public": "pg_graphql",
    "pgsodium": "pgsodium",
    "pgsodium_masks": "pgsodium",
    "topology": "postgis_topology",
    "tiger": "postgis_tiger_geocoder",
    "pgtle": "pg_tle",
    "repack": "pg_repack",
}


def enable_extension_sql(extension: str) -> str:
    """How a migration enables ``extension`` on Supabase."""
    if extension == "pg_cron":
        return "create extension if not exists pg_cron with schema pg_catalog;"
    if extension in ("pgmq", "pgsodium", "supabase_vault", "pg_graphql", "postgis_topology", "pg_tle"):
        return f"create extension if not exists {extension};"  # it makes its own schema
    return f"create extension if not exists {extension} with schema extensions;"


# Functions an extension provides: "function similarity(...) does not exist" may mean the extension.
FUNCTION_EXTENSIONS: dict[str, str] = {
    "similarity": "pg_trgm",
    "word_similarity": "pg_trgm",
    "show_trgm": "pg_trgm",
    "uuid_generate_v4": "uuid-ossp",
    "uuid_generate_v1": "uuid-ossp",
    "crypt": "pgcrypto",
    "gen_salt": "pgcrypto",
    "digest": "pgcrypto",
    "hmac": "pgcrypto",
    "pgp_sym_encrypt": "pgcrypto",
    "pgp_sym_decrypt": "pgcrypto",
    "armor": "pgcrypto",
    "levenshtein": "fuzzystrmatch",
    "soundex": "fuzzystrmatch",
    "metaphone": "fuzzystrmatch",
    "dmetaphone": "fuzzystrmatch",
    "unaccent": "unaccent",
    "earth_distance": "earthdistance",
    "ll_to_earth": "earthdistance",
    "moddatetime": "moddatetime",
    "http_get": "http",
    "http_post": "http",
    "hashids_encode": "pg_hashids",
    "crosstab": "tablefunc",
    "normal_rand": "tablefunc",
    "st_makepoint": "postgis",
    "st_distance": "postgis",
    "st_setsrid": "postgis",
    "st_dwithin": "postgis",
}
