#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite. Exits non-zero on any failure.
#   ./ops/test.sh            strict build (-Werror) + ASan/UBSan build, all tests in both
#   DAIBAN_SKIP_ASAN=1 ./ops/test.sh   only the strict build (quicker, for local iteration)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DAIBAN_ROOT"

daiban_install_deps

daiban_log "strict build (warnings are errors) in build/"
daiban_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAIBAN_WERROR=ON
daiban_log "tests (strict build)"
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
# Everything the tests printed (ctest keeps it in LastTest.log) must carry no whole ID number.
daiban_log "no whole ID numbers in the test output"
build/node/daiban-node scan-pii build/Testing/Temporary

if [ "${DAIBAN_SKIP_ASAN:-0}" != "1" ]; then
  daiban_log "AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/"
  daiban_build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAIBAN_WERROR=ON -DDAIBAN_SANITIZE=ON
  daiban_log "tests (ASan+UBSan build)"
  # The simulator runs fewer seeds under the sanitizers; the strict build runs them all.
  DAIBAN_SIM_SEEDS_SCALE=10 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j "$(nproc)" --output-on-failure --timeout 900
fi
daiban_log "all tests passed"
