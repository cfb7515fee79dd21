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

# Open MPI's C headers (Debian's libopenmpi-dev puts them under its multiarch library folder).
_MPI_INCLUDE_DIRS = [
    "/usr/lib/x86_64-linux-gnu/openmpi/include",
    "/usr/lib/aarch64-linux-gnu/openmpi/include",
    "/usr/include/openmpi",
]

_MPI_BUILD = """# Open MPI from Debian's libopenmpi-dev ({include}).
cc_library(
    name = "mpi",
    hdrs = glob(["include/**/*.h"]),
    includes = ["include"],
    linkopts = ["-lmpi"],
    visibility = ["//visibility:public"],
)
"""

# Without Open MPI the target exists but is incompatible with every platform, so `bazel build
# //...` and `bazel test //...` skip what depends on it (dist/) and build everything else.
_NO_MPI_BUILD = """# Open MPI is not installed (tools/setup.sh installs libopenmpi-dev): dist/ is skipped.
# No platform has the constraint value "installed" (Bazel 4.2's @platforms has no
# :incompatible), so what depends on this target is incompatible everywhere.
constraint_setting(name = "open_mpi")

constraint_value(
    name = "installed",
    constraint_setting = ":open_mpi",
)

cc_library(
    name = "mpi",
    target_compatible_with = [":installed"],
    visibility = ["//visibility:public"],
)
"""

def _mpi_repository_impl(ctx):
    for include in _MPI_INCLUDE_DIRS:
        if ctx.path(include + "/mpi.h").exists:
            ctx.symlink(include, "include")
            ctx.file("BUILD", _MPI_BUILD.format(include = include))
            return
    ctx.file("BUILD", _NO_MPI_BUILD)

_mpi_repository = repository_rule(
    implementation = _mpi_repository_impl,
    local = True,
    doc = "@simdnn_mpi: Open MPI's headers and library from /usr, or an incompatible stand-in when absent.",
)

def simdnn_dependencies():
    """Defines @simdnn_<name> for each system library simdnn uses (tbb, xsimd, zlib, nlohmann_json, cli11, googletest, benchmark; openblas, eigen and onednn for benchmarks; mpi for dist/)."""
    for name in _SYSTEM_LIBRARIES:
        _system_library("simdnn_" + name, "@simdnn//third_party/system:%s.BUILD" % name)
    if "simdnn_mpi" not in native.existing_rules():
        _mpi_repository(name = "simdnn_mpi")

