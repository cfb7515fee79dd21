"""The one table of instruction sets simdnn compiles kernels for, with the flags for each.

Each ISA's kernels live in files named `*_<isa>.cc` and are built into their own cc_library with
exactly these flags; everything else is compiled for the baseline (x86-64, SSE2), so a CPU that
lacks an extension never executes its instructions unless run-time dispatch chose that ISA.
"""

SIMDNN_ISA_COPTS = {
    "sse2": ["-msse2"],
    "avx2": ["-mavx2", "-mfma"],
    # GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on correct code.
    "avx512": ["-mavx512f", "-mfma", "-Wno-uninitialized", "-Wno-maybe-uninitialized"],
}
