"""The check: our NumPy forward against Keras' predict, layer by layer.

    model read (app.explain) ─► ModelRead ─► admission ─► DecidedCheck ──┬─► report stored
      model_read.py: refusals,              admission.py: refused,       │    (app.reports)
      budgets, inputs, the plan             over budget, busy, or a      │
                                            Check in its CheckFolder,    ▼
                                            started
                                                                   runner.py (a thread)
                                                                         │
                                                                   pipeline.py
                              ┌──────────────────────────────────────────┴────────┐
                              ▼                                                   ▼
                reference_side.py (a process of ours,          keras_side.py ─► keras/ (the pool's
                 kept warm: warm_reference.py): our forward     job for a sandboxed worker: load,
                 (app.analysis.reference); a Keras 2 file's     predict, every layer's outputs)
                 Keras 3 copy (keras3_copy.py)
                              └──────────────────────┬────────────────────────────┘
                                                     ▼
                 compare.py: layer by layer, as both sides write them (arrivals.py,
                 streaming.py) ─► CheckReport ─► the store

    model_read.py       ModelRead: what the check needs, sent once the model is read
    plan.py             CheckPlan: how to seed the inputs, what to compare, Keras 3's refusals
    inputs.py           seeded inputs, or the caller's checked against the model's
    budgets.py          what running a model would cost, against the limits
    disk.py             the disk a check needs at once, against KEX_CHECK_MAX_DISK_BYTES and the
                        free space
    admission.py        whether a check runs, and its start: DecidedCheck, CheckSettings
    folder.py           CheckFolder: a check's working folder and its file names
    runner.py           CheckRunner: threads, places, progress and results into the store
    check.py            Check: what one check is given, and where it stands
    pipeline.py         one Check: the reference side, the Keras side, the comparison
    reference_process.py  our side's process as the pipeline drives it: started, asked, its
                        answer read
    endings.py          the CheckReport of a check running, or ending without a comparison;
                        the verdict's sentence
    reference_side.py   our side, in a process of its own; warm_reference.py keeps one ready
    keras_side.py       the job a Keras worker is given, and its answer turned into arrays
    keras3_copy.py      Keras 2 config keys Keras 3 refuses, removed where they hold their default
    keras3_changes.py   what the copy changes, each with its sentence
    keras3_numbering.py a Keras 2 model's calls of its nested models, as Keras 3 counts them
    keras3_files.py     the copy of the file itself, weight groups where Keras 3 looks
    batchnorm_modes.py  BatchNormalization in both modes, ours and Keras'
    compare.py          the comparison, one layer in memory at a time
    streaming.py        how each side lists the layers it has written, and waits for room
    arrivals.py         the comparison of each layer as both sides list it; its files deleted
    keras/              the Keras worker pool and the worker: the only code that imports Keras
    codes.py            CHECK_CODES, every code a check can end with

Nothing below (app.analysis, app.formats, app.safety) imports the check.
"""

from app.check.codes import CHECK_CODES

__all__ = ["CHECK_CODES"]
