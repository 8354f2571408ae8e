# keras-explainer: the web app and API on port 8000, reports kept in the /data volume.
#   docker build -t keras-explainer .
#   docker run -p 8000:8000 -v kex-data:/data keras-explainer
FROM python:3.11-slim

# A virtual environment keeps the app's packages apart from the system Python, and builds the
# same on a Debian base whose system pip is locked ("externally managed").
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1

# Graphviz's `dot` draws the model's graph on the report page (app.drawing). Before the app
# layers, so it stays cached; the package lists go in the same layer.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends graphviz \
 && rm -rf /var/lib/apt/lists/*

# The user the app runs as, and its data folder. Before the app layers, so it stays cached;
# before VOLUME /data, which would discard later changes to that path.
RUN useradd --uid 10001 --create-home kex \
 && mkdir /data /shared && chown kex:kex /data /shared

# Dependencies first, read from pyproject.toml alone, so this slow layer is rebuilt only when
# pyproject.toml changes, not when the app's code does. The `keras` extra comes in as
# tensorflow-cpu: no GPU kernels, 1.3 GB installed instead of 1.9 GB; the `postgres` extra
# (psycopg, 4 MB) lets the same image serve a team's shared store. setuptools is the build
# backend, here so the app's own install below needs no download. TensorFlow's C++ headers
# (290 MB, for building custom ops, never used at run time) are deleted in this same layer:
# deleting them in a later one would not make the image smaller.
WORKDIR /app
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(p['build-system']['requires'] + p['project']['dependencies'] \
+ p['project']['optional-dependencies']['keras'] \
+ p['project']['optional-dependencies']['postgres']))" \
    | sed -E 's/^tensorflow([<>=!~ ;]|$)/tensorflow-cpu\1/' > /tmp/requirements.txt \
 && pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && rm -r /tmp/requirements.txt /opt/venv/lib/python3*/site-packages/tensorflow/include

# The app as an editable install of the copied tree: the code finds templates/ and static/
# beside app/, and Keras workers run with /app on PYTHONPATH, both from app's own location,
# so app/ must stay in /app (a regular install would move it into site-packages).
COPY . .
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation -e . \
 && python -m compileall -q app

# The report store (SQLite) lives in the volume; a new volume starts as a copy of the image's
# /data, owner included, so the app's user can write to it.
VOLUME /data
ENV KEX_DATA_DIR=/data
USER kex

EXPOSE 8000
# urllib, not curl: the slim image has no curl, and Python is there anyway.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]
CMD ["keras-explainer", "serve", "--host", "0.0.0.0", "--port", "8000"]
