/* fuzz_formula.c — libFuzzer harness for fuzz_formula() (see tests/support/fuzz_targets.h).
 * Build: cmake -B build-fuzz -DCXFIT_FUZZ=ON -DCMAKE_C_COMPILER=clang; run:
 * ./build-fuzz/fuzz_formula tests/fuzz/corpus/formula -max_total_time=60 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_formula(data, size) < 0)
        __builtin_trap(); /* a rejection without a proper message is a bug too */
    return 0;
}
