"""simdnn's external dependencies, all taken from the Debian packages under /usr.

Call simdnn_dependencies() from your WORKSPACE, after loading it from @simdnn//:deps.bzl.
tools/setup.sh installs every package named here.
"""

def _system_library(name, build_file):
    if name not in native.existing_rules():
        native.new_local_repository(name = name, path = "/usr", build_file = build_file)

# Every repository is prefixed "simdnn_", so none collides with a consumer's own @tbb or
# @googletest; each is defined only if the workspace has not defined it already (a consumer may
# point one at its own copy before calling simdnn_dependencies()).
_SYSTEM_LIBRARIES = [
    "tbb",
    "xsimd",
    "zlib",
    "nlohmann_json",
    "cli11",
    "googletest",
    "benchmark",
    # Benchmark peers only.
    "openblas",
    "eigen",
    "onednn",
]

def simdnn_dependencies():
    """Defines @simdnn_<name> for each system library simdnn uses (tbb, xsimd, zlib, nlohmann_json, cli11, googletest, benchmark; openblas, eigen and onednn for benchmarks)."""
    for name in _SYSTEM_LIBRARIES:
        _system_library("simdnn_" + name, "@simdnn//third_party/system:%s.BUILD" % name)

