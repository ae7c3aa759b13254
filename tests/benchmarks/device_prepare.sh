#!/bin/sh
# Prepare .device/ for the device checks (tests/benchmarks/device_check_*.py): the Python packages the
# device machine's python3 (3.12, with torch, numba, numpy, pandas, pyarrow) lacks, as wheels for
# CPython 3.12 on x86-64 Linux, and SimpleITK as an xz tarball (its wheel alone, 53 MB, would not fit
# the 64 MiB a device run may carry beside the repository). Needs PyPI and a Python 3.12 here
# (PYTHON312=..., default: pyenv's 3.12) to build PyRadiomics' wheel (PyPI has its source only).
# About 3 minutes (xz). .device/ is added to .git/info/exclude.
set -eu
cd "$(dirname "$0")/../.."
PY312=${PYTHON312:-$(pyenv root 2>/dev/null)/versions/3.12.1/bin/python3.12}
PIP=${PIP:-.venv/bin/pip}
mkdir -p .device
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
plat="--only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --no-deps"
# shellcheck disable=SC2086
$PIP download -q $plat -d .device "PyWavelets==1.9.0" "pykwalify==1.8.0" "ruamel.yaml==0.19.1" ruamel.yaml.clib python-dateutil
"$PY312" -m pip wheel -q --no-deps -w .device "pyradiomics-bhklab==3.1.4" docopt
tmp=$(mktemp -d)
# shellcheck disable=SC2086
$PIP download -q $plat -d "$tmp" "simpleitk==2.5.7"
(cd "$tmp" && mkdir x && cd x && unzip -q ../simpleitk-*.whl && tar cf - . | xz -T2 -6 > sitk.tar.xz)
mv "$tmp/x/sitk.tar.xz" .device/simpleitk.tar.xz
rm -rf "$tmp"
du -sh .device
