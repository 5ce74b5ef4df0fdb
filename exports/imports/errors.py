"""Import errors and their message templates (kept as constants so tests assert them exactly).

Two kinds of failure:

- :class:`ImportFileError`: the file as a whole cannot be imported (bad header, undecodable
  bytes, an unterminated quote, a binary file, a bad option). Raised before any row is written
  when it can be known then; otherwise the import stops and the caller is told what was written.
- :class:`RowError`: one value or one row is bad. It goes to the reject file with its line
  number; the import goes on (and, in the default all-or-nothing mode, writes nothing at the end).
"""

from __future__ import annotations

from dataclasses import dataclass


class ImportFileError(Exception):
    """The file (or the request) cannot be imported; ``str()`` says why."""


@dataclass(frozen=True)
class RowError:
    """One problem with one record: its first line, the column (or ``""``) and a message."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return ROW_COLUMN.format(line=self.line, column=self.column, message=self.message)
        return ROW.format(line=self.line, message=self.message)


ROW = "line {line}: {message}"
ROW_COLUMN = 'line {line}, column "{column}": {message}'

# Options.
BAD_MODE = 'Unknown mode "{mode}"; choose one of: create, update, upsert.'
BAD_ON_ERROR = 'Unknown error policy "{value}"; choose abort or skip.'
BAD_CHUNK_SIZE = "The chunk size must be a positive integer, not {value!r}."
BAD_MAX_ERRORS = "The maximum number of errors must be a positive integer, not {value!r}."
BAD_ENCODING = 'Unknown encoding "{encoding}".'
NOT_TEXT_ENCODING = (
    'The encoding "{encoding}" is not a character set for text files; name one such as '
    "utf-8, cp1252 or latin-1."
)
BAD_DELIMITER = (
    "The delimiter must be one character other than a quote or a line break, not {delimiter!r}."
)
DELIMITER_JSONL = "The jsonl format has no delimiter."
NULL_JSONL = "The jsonl format spells NULL as null; a NULL token applies to csv and tsv only."
BAD_NULL_TOKEN = "The NULL token must not contain the delimiter, a quote or a line break."
KEY_NEEDED = (
    "The {mode} mode needs a key: name one or more unique fields (for example --key {example})."
)
KEY_NOT_UNIQUE = (
    'The key "{key}" does not identify one row of {model}: it must be the primary key, a unique '
    "field, or the fields of one unconditional unique constraint."
)
KEY_NOT_IN_FILE = 'The key field "{field}" is not a column of the file.'
RESUME_NEEDS_SKIP = "Resuming continues a skip-mode import: use it with on_error=skip."
RESUME_NEEDS_PATH = "Resuming needs a file to check against the checkpoint, not a stream."
RESUME_OTHER_FILE = (
    "The checkpoint {checkpoint} belongs to another input ({reason}); delete it to start over."
)
RESUME_OTHER_IMPORT = (
    "The checkpoint {checkpoint} is for another import ({reason}); delete it to start over."
)
BAD_CHECKPOINT = "The checkpoint {checkpoint} cannot be read: {error}."
NOT_IMPORTABLE = "{model} is not declared importable."

# The file.
EMPTY_FILE = "The file is empty: expected a header line."
BINARY_FILE = "The file looks like {what}, not {format} text."
UTF16_WITHOUT_OPTION = (
    "The file starts with a {bom} byte order mark but is being read as {encoding}: "
    "name its encoding ({bom})."
)
DECODE_ERROR = (
    "line {line} (byte offset {offset}): the byte 0x{byte:02X} is not valid {encoding} text; "
    "name the file's encoding (for example cp1252 or latin-1)."
)
DECODE_FAILED = (
    "line {line}: the file cannot be read as {encoding} text ({error}); "
    "name the file's encoding (for example cp1252 or latin-1)."
)
DECOMPRESSED_TOO_LARGE = (
    "The file is larger than the limit of {limit:,} bytes once decompressed "
    "(IMPORT_MAX_DECOMPRESSED_SIZE); import larger files with manage.py importdata."
)
TOO_MANY_ROWS = (
    "The file has more than {limit:,} rows, the limit for one import here (IMPORT_MAX_ROWS); "
    "import larger files with manage.py importdata."
)
REJECTS_TOO_LARGE = (
    "The reject file reached its limit of {limit:,} bytes (IMPORT_MAX_REJECTS_SIZE); "
    "the import stopped there."
)
UNTERMINATED_QUOTE = "line {line}: a quoted field is never closed (it runs to the end of the file)."
TOO_MANY_COLUMNS = "The file has {count:,} columns; the limit is {limit:,} (IMPORT_MAX_COLUMNS)."
HEADER_EMPTY_NAME = "The header has an empty column name (column {position})."
HEADER_MISMATCH = "The header does not fit {model}: {problems}."
UNKNOWN_COLUMNS = "unknown columns: {names}"
DUPLICATE_COLUMNS = "duplicate columns: {names}"
MISSING_COLUMNS = "missing required columns: {names}"
MAP_UNKNOWN_COLUMNS = "--map names columns the file does not have: {names}"
JSONL_HEADER_NOT_OBJECT = "line {line}: each line must be a JSON object."
GZIP_ERROR = "The compressed input is damaged: {error}."
INPUT_NOT_FOUND = 'Cannot read "{path}": {error}.'

# Rows.
ROW_TOO_LONG = (
    "the row is longer than the limit of {limit:,} characters (IMPORT_MAX_LINE_LENGTH); "
    "it was not read"
)
FIELD_TOO_LONG = (
    "the value is longer than the limit of {limit:,} characters (IMPORT_MAX_FIELD_SIZE)"
)
FIELD_COUNT = "expected {expected} fields, found {found}"
BAD_QUOTING = "a quote appears inside an unquoted field, or text follows a closing quote"
BAD_JSON_LINE = "not valid JSON: {error}"
NOT_AN_OBJECT = "expected a JSON object"
JSON_KEYS = "keys differ from the first line's: {problems}"
NUL_CHARACTER = "the value contains a NUL character (\\x00), which databases cannot store"
NOT_NULL = "this field cannot be empty (NULL)"
NOT_BLANK = "this field cannot be blank"
TOO_LONG = "{length} characters is more than the maximum of {max_length}"
NOT_A_CHOICE = '"{value}" is not one of the choices: {choices}'
OUT_OF_RANGE = "{value} is out of range ({low} to {high})"
TOO_MANY_DIGITS = '"{value}" has more than {max_digits} digits in total'
TOO_MANY_PLACES = '"{value}" has more than {places} decimal places'
TOO_MANY_WHOLE_DIGITS = '"{value}" has more than {digits} digits before the decimal point'
NOT_FINITE = '"{value}" is not a finite number'
WRONG_JSON_TYPE = "expected {expected}, found {found}"
UNKNOWN_RELATED = "no {model} with {field} = {value}"
RELATED_MISMATCH = "{lookup} and {pk_column} name different {model} rows"
DUPLICATE_IN_FILE = "{fields} {value} appears again (first on line {first})"
ALREADY_EXISTS = "a {model} with {fields} {value} already exists"
DOES_NOT_EXIST = "no {model} with {fields} {value} to update"
KEY_IS_NULL = "the key {fields} is empty (NULL), so it names no row"
DATABASE_REJECTED = "the database rejected the row: {error}"
