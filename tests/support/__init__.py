"""What the tests share; test modules import from here (or a package's own harness), never
from one another.

    api            apps on a data folder, requests, the warm Keras pool lent across modules
    browser        a Chromium tab on the live server
    files          saved model files, and files edited as another writer had them
    fuzzing        byte and config mutations of model files
    hostile        the hostile corpus: canary constructs injected at chosen places
    kerascompare   a resolved graph's weights against the Keras model it was read from
    kerasref       Keras itself (the only import of keras for most tests)
    live           a real `keras-explainer serve` process
    models         the shared models (DESIGN.md's included) and the one weight randomiser
    pages          the text a person reads on a page
    weight_paths   where a `.keras` file stores each variable, and where the registry says
"""
