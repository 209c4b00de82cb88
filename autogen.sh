#!/bin/sh
# SPDX-License-Identifier: MIT
# Generates ./configure from a git checkout (release tarballs have it).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --install --force
