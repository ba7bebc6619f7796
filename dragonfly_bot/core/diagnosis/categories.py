"""What kind of failure it is: the ``Category`` of a SQLSTATE or, without one, of the message text."""

from __future__ import annotations

import re
from enum import StrEnum


class Category(StrEnum):
    """One value per distinct fix. A ``StrEnum``: it compares equal to, and serialises as, its value."""

    # The protocol's "Responding to a Red CI Run" table names these five.
    RELATION_EXISTS = "relation_exists"
    COLUMN_MISSING = "column_missing"
    PERMISSION_DENIED = "permission_denied"
    SYNTAX_ERROR = "syntax_error"
    DUPLICATE_KEY = "duplicate_key"
    # Ours.
    UNDEFINED_TABLE = "undefined_table"
    UNDEFINED_FUNCTION = "undefined_function"
    UNDEFINED_SCHEMA = "undefined_schema"
    UNDEFINED_OBJECT = "undefined_object"
    AMBIGUOUS_FUNCTION = "ambiguous_function"
    DEPENDENT_OBJECTS = "dependent_objects"
    FUNCTION_DEFINITION = "function_definition"  # 42P13: CREATE OR REPLACE cannot change the signature
    TABLE_DEFINITION = "table_definition"  # 42P16
    OBJECT_DEFINITION = "object_definition"  # 42P17: e.g. a generated column over a non-immutable function
    INVALID_VALUE = "invalid_value"  # 22P02 and friends: a cast over a bad value
    NOT_SUPPORTED = "not_supported"  # 0A000: an extension the server lacks, or a feature it refuses
    RAISED_EXCEPTION = "raised_exception"  # P0001: a guard in the migration raised
    LOCK_TIMEOUT = "lock_timeout"
    STATEMENT_TIMEOUT = "statement_timeout"
    QUERY_CANCELED = "query_canceled"
    DEADLOCK = "deadlock"
    SERIALIZATION_FAILURE = "serialization_failure"
    TRANSACTION_BLOCK = "transaction_block"  # must run outside a transaction (CONCURRENTLY, VACUUM)
    NEEDS_TRANSACTION_BLOCK = "needs_transaction_block"  # must run inside one (LOCK TABLE): the CLI opens none
    NOT_NULL_VIOLATION = "not_null_violation"
    FOREIGN_KEY_VIOLATION = "foreign_key_violation"
    CHECK_VIOLATION = "check_violation"
    DATATYPE_MISMATCH = "datatype_mismatch"
    AUTHENTICATION_FAILED = "authentication_failed"
    DATABASE_MISSING = "database_missing"
    CONNECTION_FAILED = "connection_failed"
    DNS_FAILED = "dns_failed"
    REMOTE_VERSION_MISSING = "remote_version_missing"
    OUT_OF_ORDER = "out_of_order"
    UNKNOWN = "unknown"


C = Category

# Every duplicate_* code is "already exists": the same fix.
SQLSTATE_CATEGORIES: dict[str, Category] = {
    "42P07": C.RELATION_EXISTS,  # duplicate_table
    "42P06": C.RELATION_EXISTS,  # duplicate_schema
    "42710": C.RELATION_EXISTS,  # duplicate_object (type, policy, constraint, role...)
    "42723": C.RELATION_EXISTS,  # duplicate_function
    "42P04": C.RELATION_EXISTS,  # duplicate_database
    "42P05": C.RELATION_EXISTS,  # duplicate_prepared_statement
    "42P03": C.RELATION_EXISTS,  # duplicate_cursor
    "42701": C.RELATION_EXISTS,  # duplicate_column
    "42712": C.RELATION_EXISTS,  # duplicate_alias
    "42703": C.COLUMN_MISSING,
    "42501": C.PERMISSION_DENIED,
    "42601": C.SYNTAX_ERROR,
    "23505": C.DUPLICATE_KEY,
    "42P01": C.UNDEFINED_TABLE,
    "42883": C.UNDEFINED_FUNCTION,
    "3F000": C.UNDEFINED_SCHEMA,
    "42704": C.UNDEFINED_OBJECT,
    "42725": C.AMBIGUOUS_FUNCTION,
    "2BP01": C.DEPENDENT_OBJECTS,
    "42P13": C.FUNCTION_DEFINITION,
    "42P16": C.TABLE_DEFINITION,
    "42P17": C.OBJECT_DEFINITION,
    "22P02": C.INVALID_VALUE,  # invalid_text_representation
    "22007": C.INVALID_VALUE,  # invalid_datetime_format
    "22008": C.INVALID_VALUE,  # datetime_field_overflow
    "22003": C.INVALID_VALUE,  # numeric_value_out_of_range
    "22001": C.INVALID_VALUE,  # string_data_right_truncation
    "0A000": C.NOT_SUPPORTED,
    "P0001": C.RAISED_EXCEPTION,
    "55P03": C.LOCK_TIMEOUT,
    "57014": C.STATEMENT_TIMEOUT,
    "40P01": C.DEADLOCK,
    "40001": C.SERIALIZATION_FAILURE,
    "25001": C.TRANSACTION_BLOCK,
    "25P01": C.NEEDS_TRANSACTION_BLOCK,
    "23502": C.NOT_NULL_VIOLATION,
    "23503": C.FOREIGN_KEY_VIOLATION,
    "23514": C.CHECK_VIOLATION,
    "42804": C.DATATYPE_MISMATCH,
    "28P01": C.AUTHENTICATION_FAILED,
    "28000": C.AUTHENTICATION_FAILED,
    "3D000": C.DATABASE_MISSING,
    "57P01": C.CONNECTION_FAILED,
    "57P03": C.CONNECTION_FAILED,
}

CATEGORIES: tuple[Category, ...] = tuple(Category)

# Without a SQLSTATE (psql-style output, other tools) the protocol's table
# matches on the message text; so do we.
_MESSAGE_CATEGORIES: tuple[tuple[re.Pattern, Category], ...] = tuple(
    (re.compile(p, re.IGNORECASE), c)
    for p, c in (
        (r"duplicate key value violates unique constraint", C.DUPLICATE_KEY),
        (r"\balready exists\b", C.RELATION_EXISTS),
        (r"multiple primary keys for table", C.RELATION_EXISTS),
        (r"\bcolumn \S+ (?:of relation \S+ )?does not exist", C.COLUMN_MISSING),
        (r"\bpermission denied\b|must be owner of", C.PERMISSION_DENIED),
        (r"syntax error at or near|syntax error at end of input", C.SYNTAX_ERROR),
        (r"\brelation \S+ does not exist", C.UNDEFINED_TABLE),
        (r"\bfunction \S+ does not exist", C.UNDEFINED_FUNCTION),
        (r"\bschema \S+ does not exist", C.UNDEFINED_SCHEMA),
        (r"because other objects depend on it", C.DEPENDENT_OBJECTS),
        (r"deadlock detected", C.DEADLOCK),
        (r"lock timeout|could not obtain lock", C.LOCK_TIMEOUT),
        (r"statement timeout", C.STATEMENT_TIMEOUT),
    )
)

# Categories whose hint reads the other migration files (who creates what is missing).
NEEDS_OTHER_FILES = frozenset(
    {
        C.COLUMN_MISSING,
        C.UNDEFINED_TABLE,
        C.UNDEFINED_FUNCTION,
        C.UNDEFINED_SCHEMA,
        C.UNDEFINED_OBJECT,
        C.AMBIGUOUS_FUNCTION,
    }
)


def classify(sqlstate: str | None, message: str) -> Category:
    """The category of an error, from its SQLSTATE, else from its text."""
    if sqlstate == "57014" and "statement timeout" not in message:
        return C.QUERY_CANCELED
    if sqlstate == "42P16" and "multiple primary keys" in message:
        return C.RELATION_EXISTS  # ADD PRIMARY KEY run again: the idempotency fix
    if sqlstate in SQLSTATE_CATEGORIES:
        return SQLSTATE_CATEGORIES[sqlstate]
    if sqlstate and sqlstate.startswith("08"):
        return C.CONNECTION_FAILED
    for pattern, category in _MESSAGE_CATEGORIES:
        if pattern.search(message):
            return category
    return C.UNKNOWN


def connect_category(message: str, sqlstate: str | None) -> Category:
    """A "failed to connect" line: DNS, credentials, database name, or the network."""
    low = message.lower()
    if "hostname resolving error" in low or "no such host" in low or "enotfound" in low or "getaddrinfo" in low:
        return C.DNS_FAILED
    if sqlstate in ("28P01", "28000") or "password authentication failed" in low or "tenant or user not found" in low:
        return C.AUTHENTICATION_FAILED
    if sqlstate == "3D000":
        return C.DATABASE_MISSING
    return C.CONNECTION_FAILED
