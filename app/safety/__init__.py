"""The safety scan. An upload's bytes are checked and validated into typed values, which
the readers (`app.formats`) turn into the graph. Nothing here imports a reader.

    scan         identify(path), scan_file(path), scan_spec(obj): the entry points
    scanned      what the scan hands the readers: ScannedArchive, ScannedHdf5, ScannedSpec
    sniff        the format from the bytes, never from the name
    polyglot     bytes that read as two formats at once
    keras_v3     a `.keras` archive: members, config.json, metadata.json, model.weights.h5
    legacy_h5    a legacy HDF5 file: every object, `model_config`, the arrays it lists
    spec_json    the JSON of model.to_json(), as an object, a string or a file
    archive      the .keras zip: members, names, encryption, sizes declared and real
    member       a stored zip member read in place
    hdf5_scan    every object of an HDF5 file: links, storage, filters, types, sizes
    safe_json    load_json / check_parsed: size, depth, duplicate keys, numbers
    config_scan  every object of a model config: refusals (as data) and paths (as errors)
    model_config the structure of a model config, checked into typed entries (`InvalidSpec`)
    allowlist    the class/module pairs a config may name
    refusals     Refusal: why a model we can explain must never run in Keras
    limits       ReadLimits: the caps, passed in by the caller (never read from settings)

The order for a file: sniff and polyglot on the raw bytes; then, per format, the container
(zip members, every HDF5 object) before any value in it, each JSON document under the caps,
and the config scanned and checked before a value is returned. A hostile or unparseable file
ends in an `app.errors` error with its code; a code-bearing one in `ScannedConfig.refusals`.
"""

from app.safety.limits import DEFAULT_LIMITS, ReadLimits
from app.safety.refusals import REFUSAL_CODES, Refusal

__all__ = ["DEFAULT_LIMITS", "REFUSAL_CODES", "ReadLimits", "Refusal"]
