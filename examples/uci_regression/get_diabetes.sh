#!/usr/bin/env bash
# Writes DIR/diabetes.csv (default: out/data): the diabetes data of Efron et al. (2004), 442
# patients, 10 baseline variables and a measure of disease progression one year later, as
# scikit-learn ships it in Debian's python3-sklearn. The package is downloaded, not installed
# (its Python dependencies are not needed): apt-get download and dpkg -x in a temporary directory.
#
#   examples/uci_regression/get_diabetes.sh [DIR]
set -euo pipefail
dir=${1:-out/data}
mkdir -p "$dir"
if [ -s "$dir/diabetes.csv" ]; then
  echo "$dir/diabetes.csv is there"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download python3-sklearn >/dev/null)
dpkg -x "$work"/python3-sklearn_*.deb "$work/x"
data=$work/x/usr/lib/python3/dist-packages/sklearn/datasets/data
# Ten space-separated columns per row in one file, the target in the other: one CSV with a header.
{
  echo "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,progression"
  paste -d' ' <(zcat "$data/diabetes_data_raw.csv.gz") <(zcat "$data/diabetes_target.csv.gz") |
    tr -s ' ' ','
} >"$dir/diabetes.csv"
echo "wrote $dir/diabetes.csv ($(($(wc -l <"$dir/diabetes.csv") - 1)) rows)"
