/* fuzz_results.c — libFuzzer harness for fuzz_results() (see tests/support/fuzz_targets.h):
 * raw bytes as a results file, read by show and the --resume read path.
 * Build: cmake -B build-fuzz -DCXFIT_FUZZ=ON -DCMAKE_C_COMPILER=clang; run (libhdf5 1.10
 * crashes on many corrupt files by itself, so keep going and sort the crashes by stack):
 * mkdir -p /tmp/rc && ./build-fuzz/fuzz_results /tmp/rc tests/fuzz/corpus/results \
 *     -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -timeout=10 -max_total_time=300 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_results(data, size) < 0)
        __builtin_trap(); /* a refusal without a proper message or a leaked handle */
    return 0;
}
