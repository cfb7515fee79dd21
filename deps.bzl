"""simdnn's external dependencies, all taken from the Debian packages under /usr.

Call simdnn_dependencies() from your WORKSPACE, after loading it from @simdnn//:deps.bzl.
tools/setup.sh installs every package named here.
"""

def _system_library(name, build_file):
    if name not in native.existing_rules():
        native.new_local_repository(name = name, path = "/usr", build_file = build_file)

def simdnn_dependencies():
    """Defines @tbb, @xsimd, @zlib, @nlohmann_json, @cli11, @googletest, @benchmark and, for benchmarks, @openblas, @eigen, @onednn."""
    _system_library("tbb", "@simdnn//third_party/system:tbb.BUILD")
    _system_library("xsimd", "@simdnn//third_party/system:xsimd.BUILD")
    _system_library("zlib", "@simdnn//third_party/system:zlib.BUILD")
    _system_library("nlohmann_json", "@simdnn//third_party/system:nlohmann_json.BUILD")
    _system_library("cli11", "@simdnn//third_party/system:cli11.BUILD")
    _system_library("googletest", "@simdnn//third_party/system:googletest.BUILD")
    _system_library("benchmark", "@simdnn//third_party/system:benchmark.BUILD")
    _system_library("openblas", "@simdnn//third_party/system:openblas.BUILD")
    _system_library("eigen", "@simdnn//third_party/system:eigen.BUILD")
    _system_library("onednn", "@simdnn//third_party/system:onednn.BUILD")
