"""Bring a team's lists in: contacts, deals and products from CSV, XLSX and vCard files.

Three steps, each testable on its own:

    read_file(data, filename)            bytes → Table (type check, encoding, separator, header)
    guess_mapping(kind, headers)         headers (French, English, Google, Outlook) → fields
    run_import(actor, kind, table, ...)  dry run (write=False) or the whole file in ONE
                                         transaction (write=True); `only_valid` skips rejected
                                         rows, otherwise any rejection writes nothing.

One module per concern, lowest first:

    cells      Table and Cell, formula neutralising
    fields     the fields of each kind and the column names that mean them
    mapping    columns → fields; a row's cells → clean values
    vcards     vCard files as tables (vobject)
    readers    read_file: CSV, XLSX, vCard, bounded
    planning   the plan: new records, duplicates merged (same phone or email)
    writing    run_import, the use-case: dry run, or the plan written in one transaction

Duplicates (same E.164 phone or email, in the file or already in the database) are merged,
never doubled. Bad files raise `InvalidInput` with one clear code; nothing is written.
The public names are re-exported here: import them from `storage.importing`.
"""

from __future__ import annotations

from storage.importing.cells import Cell, Table, neutralised
from storage.importing.fields import FIELDS, KINDS, Kind
from storage.importing.mapping import apply_mapping_text, guess_kind, guess_mapping
from storage.importing.readers import MAX_BYTES, read_file
from storage.importing.vcards import MAX_CARD_BYTES
from storage.importing.writing import ImportReport, Progress, Rejection, run_import

__all__ = [
    "FIELDS",
    "KINDS",
    "MAX_BYTES",
    "MAX_CARD_BYTES",
    "Cell",
    "ImportReport",
    "Kind",
    "Progress",
    "Rejection",
    "Table",
    "apply_mapping_text",
    "guess_kind",
    "guess_mapping",
    "neutralised",
    "read_file",
    "run_import",
]
