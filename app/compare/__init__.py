"""Compare two models: what changed between two Keras files, layer by layer, weight by weight.

matching.py    which layer of `a` is which layer of `b`: by name, by position where
               Keras regenerated the names (`dense` → `dense_1`)
configs.py     each config key that differs, old → new, across writers' spellings
weights.py     per weight of the same role: shapes, max absolute and relative change,
               equal bit for bit or not (read block by block)
batchnorm.py   which of gamma, beta, moving_mean, moving_variance moved, and what follows
writers.py     each side's writer, and what Keras 2 → 3 computes otherwise
build.py       the `Comparison` of two read models (the analyses above, assembled)
task.py        both files read and compared in a throwaway process (app.isolation)
schemas.py     the JSON contract
store.py       comparisons kept by id (SQLite)
service.py     `Comparisons`: each side through the reports' intake, then the comparison
terminal.py    `keras-explainer diff` as text
"""
