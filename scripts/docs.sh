#!/usr/bin/env bash
# Build or serve the documentation site, with nothing loaded from a CDN.
#
#   scripts/docs.sh build [mkdocs build options]   strict build into site/
#   scripts/docs.sh serve [mkdocs serve options]   live preview on http://127.0.0.1:8000/
#   scripts/docs.sh vendor                         only fetch KaTeX and Mermaid
#
# Steps: make the repository's .venv if it is missing (python3 -m venv .venv), install the
# package with its docs extra into it (pip install -e '.[docs]', skipped when pyproject.toml has
# not changed since the last install), fetch the pinned, checksummed KaTeX and Mermaid releases
# into docs/assets/vendor/ with npm (docs/tools/fetch_vendor.py; instant when already there), then
# run mkdocs. The build itself downloads nothing.
#
# Environment: PYTHON (interpreter used to create .venv, default python3), AUTODIFF_SITE_URL
# (published URL, see mkdocs.yml), DOCS_SKIP_INSTALL=1 (use .venv as it is).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
venv="$repo/.venv"
py="$venv/bin/python"

usage() {
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

cmd=${1:-build}
shift || true
case "$cmd" in
  build | serve | vendor) ;;
  -h | --help | help)
    usage
    exit 0
    ;;
  *)
    echo "docs.sh: unknown command '$cmd'" >&2
    usage >&2
    exit 2
    ;;
esac

if [[ ! -x "$py" ]]; then
  echo "docs.sh: creating $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi

# Reinstall only when pyproject.toml changed since the last successful install.
stamp="$venv/.autodiff-docs-installed"
if [[ "${DOCS_SKIP_INSTALL:-0}" != 1 ]]; then
  if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]] || ! "$py" -c 'import mkdocs, material' 2>/dev/null; then
    echo "docs.sh: installing the docs extra into $venv"
    "$py" -m pip install --quiet --disable-pip-version-check -e "$repo[docs]"
    touch "$stamp"
  fi
fi

"$py" docs/tools/fetch_vendor.py

export NO_MKDOCS_2_WARNING=1 # material's banner about MkDocs 2.0; not a problem of this site
export MPLBACKEND=Agg

case "$cmd" in
  build) exec "$py" -m mkdocs build --strict "$@" ;;
  serve) exec "$py" -m mkdocs serve "$@" ;;
  vendor) ;;
esac
