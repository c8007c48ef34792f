#!/usr/bin/env bash
# System packages the project needs besides Python: Java 17 for Spark, OpenBLAS/LAPACK as
# native BLAS for Spark ML's ALS, and Debian's Chromium for the docs-site browser test.
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || need+=(libopenblas0-pthread)
[ -e /usr/lib/x86_64-linux-gnu/liblapack.so.3 ] || need+=(liblapack3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
echo "installing system packages: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
