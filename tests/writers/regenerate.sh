#!/bin/bash
# Regenerate tests/writers/files/: every writer of the matrix writes the battery
# (tests/writers/write_battery.py) into files/<writer>/. Takes minutes per writer and about
# 15 GB of venvs; not part of `make test`. Writers run one at a time.
#
#   tests/writers/regenerate.sh                 # every writer
#   tests/writers/regenerate.sh keras-3.4.1 ... # some of them
#
# VENVS (default /work/writer-venvs) holds one venv per TensorFlow version, outside the
# repository; Keras 3 minors are swapped into the venv of a TensorFlow of their time.
# Installs use `uv pip` when UV names it (or it is on PATH), else pip. DROP_VENVS=1 deletes
# each venv once the last writer given that uses it is written (the disk is shared).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VENVS=${VENVS:-/work/writer-venvs}
PYTHON=${PYTHON:-python3.11}
UV=${UV:-$(command -v uv || echo "$VENVS/_tools/bin/uv")}

# writer            venv   TensorFlow               extra package        flavour
WRITERS="
tf.keras-2.12      tf212  tensorflow-cpu==2.12.1   -                    tf.keras
tf.keras-2.13      tf213  tensorflow-cpu==2.13.1   -                    tf.keras
tf.keras-2.14      tf214  tensorflow-cpu==2.14.1   -                    tf.keras
tf.keras-2.15      tf215  tensorflow-cpu==2.15.1   -                    tf.keras
tf_keras-2.16      tf216  tensorflow-cpu==2.16.2   tf_keras==2.16.0     tf_keras
tf_keras-2.17      tf217  tensorflow-cpu==2.17.1   tf_keras==2.17.0     tf_keras
tf_keras-2.18      tf218  tensorflow-cpu==2.18.1   tf_keras==2.18.0     tf_keras
tf_keras-2.19      tf219  tensorflow-cpu==2.19.1   tf_keras==2.19.0     tf_keras
tf_keras-2.20      tf220  tensorflow-cpu==2.20.0   tf_keras==2.20.1     tf_keras
tf_keras-2.21      tf221  tensorflow-cpu==2.21.0   tf_keras==2.21.0     tf_keras
keras-3.0.5        tf216  tensorflow-cpu==2.16.2   keras==3.0.5         keras3
keras-3.1.1        tf216  tensorflow-cpu==2.16.2   keras==3.1.1         keras3
keras-3.2.1        tf216  tensorflow-cpu==2.16.2   keras==3.2.1         keras3
keras-3.3.3        tf216  tensorflow-cpu==2.16.2   keras==3.3.3         keras3
keras-3.4.1        tf217  tensorflow-cpu==2.17.1   keras==3.4.1         keras3
keras-3.5.0        tf217  tensorflow-cpu==2.17.1   keras==3.5.0         keras3
keras-3.6.0        tf217  tensorflow-cpu==2.17.1   keras==3.6.0         keras3
keras-3.7.0        tf218  tensorflow-cpu==2.18.1   keras==3.7.0         keras3
keras-3.8.0        tf218  tensorflow-cpu==2.18.1   keras==3.8.0         keras3
keras-3.9.2        tf219  tensorflow-cpu==2.19.1   keras==3.9.2         keras3
keras-3.10.0       tf219  tensorflow-cpu==2.19.1   keras==3.10.0        keras3
keras-3.11.3       tf220  tensorflow-cpu==2.20.0   keras==3.11.3        keras3
keras-3.12.4       tf220  tensorflow-cpu==2.20.0   keras==3.12.4        keras3
keras-3.13.2       tf221  tensorflow-cpu==2.21.0   keras==3.13.2        keras3
keras-3.14.1       tf221  tensorflow-cpu==2.21.0   keras==3.14.1        keras3
keras-3.15.1       tf221  tensorflow-cpu==2.21.0   keras==3.15.1        keras3
"

install() {  # install VENV PACKAGE [--no-deps]
  local venv=$1; shift
  if [ -x "$UV" ]; then "$UV" pip install -q --python "$venv/bin/python" "$@"
  else "$venv/bin/python" -m pip install -q "$@"; fi
}

registry=$(mktemp)
"$ROOT/.venv/bin/python" -c 'from app.layers.registry import REGISTRY; print("\n".join(sorted(REGISTRY)))' >"$registry"
wanted=" $* "
selected=$(echo "$WRITERS" | while read -r writer rest; do
  [ -z "$writer" ] && continue
  [ $# -gt 0 ] && [[ "$wanted" != *" $writer "* ]] && continue
  echo "$writer $rest"
done)
echo "$selected" | while read -r writer venv tf extra flavour; do
  [ -z "$writer" ] && continue
  venv_dir="$VENVS/$venv"
  if [ ! -x "$venv_dir/bin/python" ]; then
    if [ -x "$UV" ]; then "$UV" venv -q --python "$PYTHON" "$venv_dir"; else "$PYTHON" -m venv "$venv_dir"; fi
    install "$venv_dir" "$tf"
  fi
  case $flavour in
    tf_keras) install "$venv_dir" --no-deps "$extra" ;;   # it pins "tensorflow", we run tensorflow-cpu
    keras3) install "$venv_dir" "$extra" ;;
  esac
  out="$HERE/files/$writer"
  rm -rf "$out"; mkdir -p "$HERE/files"
  echo "== $writer ($(date +%T))"
  start=$(date +%s)
  TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=tensorflow CUDA_VISIBLE_DEVICES= \
    "$venv_dir/bin/python" "$HERE/write_battery.py" "$out" --flavour "$flavour" --registry "$registry" \
    >"$out.log" 2>&1 || echo "!! $writer failed: see $out.log"
  echo "   $(( $(date +%s) - start )) s, $(ls "$out" 2>/dev/null | wc -l) files"
  grep -v -e '^WARNING' -e 'Warning' "$out.log" | tail -3 || true
  rm -f "$out.log"
  if [ "${DROP_VENVS:-0}" = 1 ] && ! echo "$selected" | awk -v w="$writer" -v v="$venv" 'later && $2 == v {f=1} $1 == w {later=1} END {exit !f}'; then
    rm -rf "$venv_dir"; echo "   removed $venv_dir"
  fi
done
rm -f "$registry"
