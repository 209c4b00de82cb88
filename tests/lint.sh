#!/bin/sh
# SPDX-License-Identifier: MIT
# The habits the project keeps, checked (TAP):
#   - no sprintf, strcpy, strcat, strtok, atoi or gets in plugin/ and include/
#     (snprintf, memcpy with a length, strtol: say what fits);
#   - every C file formatted as .clang-format says (clang-format 14);
#   - every header under plugin/ and include/ compiles on its own.
set -u
src=${SM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SM_BUILDDIR:-$src}
cc=${SM_CC:-cc}
n=0
failed=0
ok() { # ok COND-STATUS TEXT [DETAIL-FILE]
  n=$((n + 1))
  if [ "$1" = 0 ]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failed=$((failed + 1))
    [ -n "${3:-}" ] && sed 's/^/# /' "$3" | head -n 40
  fi
}
work=$(mktemp -d "${TMPDIR:-/tmp}/sm-lint.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The sources: what git tracks, or, in a release tarball, what is there.
if git -C "$src" rev-parse --git-dir > /dev/null 2>&1; then
  (cd "$src" && git ls-files -- '*.c' '*.h') > "$work/files"
else
  (cd "$src" && find plugin include tests bench contrib -name '*.[ch]') \
    > "$work/files"
fi
grep -v '^tests/data/' "$work/files" | sort > "$work/c"

grep -E '^(plugin|include)/' "$work/c" > "$work/product"
(cd "$src" && xargs grep -n -E '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)[[:space:]]*\(' \
  < "$work/product") > "$work/banned" 2>/dev/null
[ -s "$work/banned" ]
ok $((1 - $?)) "no sprintf, strcpy, strcat, strtok, atoi or gets in plugin/ and include/" "$work/banned"

if command -v clang-format > /dev/null 2>&1; then
  : > "$work/format"
  while read -r f; do
    clang-format --style=file "$src/$f" | diff -u "$src/$f" - > "$work/d" ||
      { echo "$f:"; head -n 12 "$work/d"; } >> "$work/format"
  done < "$work/c"
  [ -s "$work/format" ]
  ok $((1 - $?)) "every C file is formatted as .clang-format says (clang-format -i FILE)" "$work/format"
else
  n=$((n + 1)); echo "ok $n - clang-format # SKIP not installed"
fi

# Each header alone: include it first in an otherwise empty file.
flags="-I$src/include -I$src/plugin -I$src/plugin/common -I$src/plugin/read \
  -I$src/plugin/aws -I$src/plugin/cloudwatch -I$build \
  ${SM_COLLECTD_CPPFLAGS:--I/usr/include/collectd} -DHAVE_CONFIG_H"
: > "$work/headers"
for h in $(grep -E '^(plugin|include)/.*\.h$' "$work/c"); do
  printf '#include "%s"\n' "$(basename "$h")" > "$work/one.c"
  # shellcheck disable=SC2086
  $cc -fsyntax-only -Wall -Wextra -Werror $flags "$work/one.c" \
    > "$work/out" 2>&1 || { echo "$h:"; head -n 8 "$work/out"; } >> "$work/headers"
done
[ -s "$work/headers" ]
ok $((1 - $?)) "every header under plugin/ and include/ compiles on its own" "$work/headers"

echo "1..$n"
[ "$failed" = 0 ]
