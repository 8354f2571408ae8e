"""Intake: everything between the bytes of an upload and our readers.

    limits       IntakeLimits: the caps, passed in by the caller (never read from settings)
    safe_json    load_json / check_parsed: size, depth, duplicate keys, numbers
    archive      the .keras zip: members, names, encryption, sizes declared and real
    hdf5_scan    every object of an HDF5 file: links, storage, filters, types, sizes
    polyglot     bytes that read as two formats at once
    config_scan  every object of a model config: refusals (as data) and paths (as errors)
    allowlist    the class/module pairs a config may name
    refusals     Refusal: why a model we can explain must never run in Keras

`app.formats` calls these while reading; a hostile or unparseable file ends in an
`app.errors` error with its code, a code-bearing one in `LoadedModel.refusals`.
"""

from app.intake.limits import DEFAULT_LIMITS, IntakeLimits
from app.intake.refusals import REFUSAL_CODES, Refusal

__all__ = ["DEFAULT_LIMITS", "REFUSAL_CODES", "IntakeLimits", "Refusal"]
