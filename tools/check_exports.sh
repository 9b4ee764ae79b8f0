#!/usr/bin/env bash
# Checks libporta's boundary: tools/check_exports.sh LIBPORTA.so INCLUDE_DIR
# - every defined dynamic symbol is a porta_* function (internals stay hidden);
# - every function declared in the public headers carries PORTA_API and is exported.
# Prints each offender and exits non-zero when there is one.
set -euo pipefail
lib=$1
inc=$2
status=0
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort -u)
others=$(grep -v '^porta_' <<< "$exported" | grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' || true)
if [ -n "$others" ]; then
  echo "exported but not porta_*:"; sed 's/^/  /' <<< "$others"; status=1
fi
# declarations at the start of a line: '<type> porta_name(' without the PORTA_API mark
unmarked=$(grep -n -E '^(const )?(unsigned )?[a-z_0-9]+ \**porta_[a-z0-9_]+\(' "$inc"/*.h || true)
if [ -n "$unmarked" ]; then
  echo "public declarations without PORTA_API:"; sed 's/^/  /' <<< "$unmarked"; status=1
fi
# (a declaration clang-format broke after its return type is joined first)
declared=$(cat "$inc"/*.h | perl -0pe 's/(\nPORTA_API [^\n(]*)\n(porta_)/$1 $2/g' |
  grep -o -E '^PORTA_API [^(]*\bporta_[a-z0-9_]+\(' |
  grep -o -E 'porta_[a-z0-9_]+\($' | tr -d '(' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [ -n "$missing" ]; then
  echo "declared in include/porta but not exported:"; sed 's/^/  /' <<< "$missing"; status=1
fi
echo "$(wc -l <<< "$declared") public functions declared, $(wc -l <<< "$exported") symbols exported"
[ $status -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $status
