"""The diagnosis of a user's own numbers: where they part from Keras, and which known
mistake (app.diagnosis.catalogue; one module per family) reproduces them.

Nothing here imports Keras, settings or FastAPI: it runs where the reference forward runs
(app.diagnosis.process, a process of its own).
"""
