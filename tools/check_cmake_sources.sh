#!/usr/bin/env bash
# Checks that the CMake build (CMakeLists.txt) builds the same library as Bazel's //:simdnn:
# the same .cc files with the same per-file flags (copts: the ISA flags of core/isa.bzl, layers'
# -O3), the same headers split the same way into installed (public) and internal ones (Bazel:
# hdrs of a target visible only inside this repository, or headers in srcs), the same bundled
# data files, and the same external libraries. Fails with a diff and what to do about it.
#
# CMake's side is the list its configure step writes (<build>/simdnn_sources.txt); Bazel's is one
# `bazel query` of the cc_library targets in //:simdnn's closure, read with --output=build.
#   tools/check_cmake_sources.sh        (tools/test.sh runs it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/simdnn-cmake-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if ! cmake -S "$root" -B "$tmp/build" >"$tmp/cmake.log" 2>&1; then
  cat "$tmp/cmake.log" >&2
  echo "check_cmake_sources: cmake configure failed" >&2
  exit 1
fi
if [[ -n "${SIMDNN_CHECK_BAZEL_OUTPUT:-}" ]]; then  # a saved query output, for testing the check
  cp "$SIMDNN_CHECK_BAZEL_OUTPUT" "$tmp/bazel.txt"
elif ! bazel query --noimplicit_deps --notool_deps --output=build \
  'kind("cc_library rule", deps(//:simdnn))' >"$tmp/bazel.txt" 2>"$tmp/bazel.log"; then
  cat "$tmp/bazel.log" >&2
  echo "check_cmake_sources: bazel query failed" >&2
  exit 1
fi

# simdnn::dist (CMake) against //dist:dist: its sources and headers.
if [[ -n "${SIMDNN_CHECK_BAZEL_OUTPUT:-}" ]]; then
  printf '//dist:mpi.cc\n' >"$tmp/dist_srcs.txt" && printf '//dist:mpi.h\n' >"$tmp/dist_hdrs.txt"
elif ! { bazel query 'labels(srcs, //dist:dist)' >"$tmp/dist_srcs.txt" &&
  bazel query 'labels(hdrs, //dist:dist)' >"$tmp/dist_hdrs.txt"; } 2>"$tmp/bazel.log"; then
  cat "$tmp/bazel.log" >&2
  echo "check_cmake_sources: bazel query of //dist:dist failed" >&2
  exit 1
fi

python3 - "$root" "$tmp/bazel.txt" "$tmp/build/simdnn_sources.txt" "$tmp/dist_srcs.txt" "$tmp/dist_hdrs.txt" <<'PY'
import ast, difflib, os, re, sys

root, bazel_out, manifest, dist_srcs, dist_hdrs = sys.argv[1:6]
problems = []  # things the check cannot mirror, reported besides the diff

# --- Bazel: every cc_library of //:simdnn's closure defined in this repository -------------
rules = []  # (package, name, attrs)
location = None
current = None
for line in open(bazel_out):
    line = line.rstrip("\n")
    m = re.match(r"^# (/[^:]*):\d+(:\d+)?$", line)
    if m:
        location = m.group(1)
        continue
    m = re.match(r"^([A-Za-z_]\w*)\($", line)
    if m:
        current = {"class": m.group(1), "location": location, "attrs": {}, "raw": {}}
        continue
    if current is None:
        continue
    if line == ")":
        rules.append(current)
        current = None
        continue
    m = re.match(r"^  (\w+) = (.*),$", line)
    if m:
        current["raw"][m.group(1)] = m.group(2)
        try:
            current["attrs"][m.group(1)] = ast.literal_eval(m.group(2))
        except (ValueError, SyntaxError):
            current["attrs"][m.group(1)] = None  # select() or something else not literal

def package_of(loc):
    """'' for the root package, 'core' for core/BUILD; None outside this repository."""
    if loc is None:
        return None
    path = os.path.realpath(loc)
    if os.path.basename(path) not in ("BUILD", "BUILD.bazel"):
        return None  # e.g. third_party/system/tbb.BUILD, an external repository's build file
    rel = os.path.relpath(os.path.dirname(path), root)
    if rel.startswith(".."):
        return None
    return "" if rel == "." else rel

default_public = {}
def package_default_public(pkg):
    if pkg not in default_public:
        text = open(os.path.join(root, pkg, "BUILD")).read()
        m = re.search(r"package\([^)]*default_visibility\s*=\s*\[([^\]]*)\]", text, re.S)
        default_public[pkg] = bool(m) and "//visibility:public" in m.group(1)
    return default_public[pkg]

def file_of(label, pkg, rule):
    m = re.match(r"^//([^:]*):(.+)$", label)
    if not m:
        problems.append(f"//{pkg}:{rule}: {label} is not a file of this repository")
        return None
    if m.group(1) != pkg:
        problems.append(f"//{pkg}:{rule}: {label} belongs to another package")
    return (m.group(1) + "/" if m.group(1) else "") + m.group(2)

HANDLED = {"name", "srcs", "hdrs", "deps", "copts", "include_prefix", "visibility", "data",
           "tags", "generator_name", "generator_function", "generator_location"}
srcs = {}        # file -> copts
public, internal, data, deps = set(), set(), set(), set()
owner = {}       # file -> label of the rule listing it
n_rules = 0
for r in rules:
    pkg = package_of(r["location"])
    if pkg is None:
        continue
    n_rules += 1
    attrs = r["attrs"]
    name = attrs.get("name")
    label = f"//{pkg}:{name}"
    for a, v in attrs.items():
        if a not in HANDLED:
            problems.append(f"{label} sets {a} = {r['raw'][a]}, which the CMake build does not "
                            "mirror: teach CMakeLists.txt and this check about it")
        elif v is None:
            problems.append(f"{label}: {a} = {r['raw'][a]} is not a literal the check can read")
    if any(v is None for v in attrs.values()):
        continue
    expected_prefix = "simdnn/" + pkg if pkg else "simdnn"
    if attrs.get("hdrs") and attrs.get("include_prefix") != expected_prefix:
        problems.append(f"{label}: include_prefix is {attrs.get('include_prefix')!r}; the CMake "
                        f"build installs {pkg or '.'}/ as <{expected_prefix}/...>")
    vis = attrs.get("visibility")
    is_public = ("//visibility:public" in vis) if vis is not None else package_default_public(pkg)
    copts = attrs.get("copts", [])
    for l in attrs.get("srcs", []):
        f = file_of(l, pkg, name)
        if f is None:
            continue
        owner[f] = label
        if f.endswith(".cc"):
            srcs[f] = copts
        elif f.endswith(".h"):
            internal.add(f)
        else:
            problems.append(f"{label}: source {f} is neither .cc nor .h")
    for l in attrs.get("hdrs", []):
        f = file_of(l, pkg, name)
        if f is None:
            continue
        owner.setdefault(f, label)
        (public if is_public else internal).add(f)
    for l in attrs.get("data", []):
        f = file_of(l, pkg, name)
        if f is not None:
            data.add(f)
            owner.setdefault(f, label)
    for l in attrs.get("deps", []):
        m = re.match(r"^@([^/]+)//", l)
        if m:
            deps.add(m.group(1))
internal -= public  # a header in hdrs of a public target is public

if n_rules == 0:
    sys.exit("check_cmake_sources: bazel query returned no cc_library of this repository")

def dist_files(path):
    return [l.strip().replace("//dist:", "dist/") for l in open(path) if l.strip()]

bazel_lines = (
    [f"src {f} {' '.join(c)}".rstrip() for f, c in srcs.items()]
    + [f"public {f}" for f in public] + [f"internal {f}" for f in internal]
    + [f"data {f}" for f in data] + [f"dep {d}" for d in deps]
    + [f"dist-src {f}" for f in dist_files(dist_srcs)] + [f"dist-public {f}" for f in dist_files(dist_hdrs)])

# --- CMake ----------------------------------------------------------------------------------
cmake_lines = [l.rstrip() for l in open(manifest) if l.strip()]

bazel_lines.sort()
cmake_lines.sort()
if bazel_lines == cmake_lines and not problems:
    print(f"check_cmake_sources: CMake and Bazel agree on //:simdnn and //dist ({len(srcs)} sources, "
          f"{len(public)} public and {len(internal)} internal headers, {len(data)} data files, "
          f"{len(deps)} external libraries)")
    sys.exit(0)

print("check_cmake_sources: the CMake build and Bazel's //:simdnn disagree")
if bazel_lines != cmake_lines:
    diff = difflib.unified_diff(bazel_lines, cmake_lines, "bazel query deps(//:simdnn)",
                                "cmake (simdnn_sources.txt)", n=0, lineterm="")
    for l in diff:
        if l.startswith("@@"):
            continue
        if l.startswith("-") and not l.startswith("---"):
            f = l[1:].split()[1]
            l += f"    (from {owner[f]})" if f in owner else ""
        print("  " + l)
    print("""
  '-' lines: Bazel has them, CMake does not (or differently); '+' lines: the reverse.
  - a file CMake lacks: CMake globs core/, core/kernels/, layers/, train/, models/, data/ and
    simdnn.h; a new folder goes in SIMDNN_PACKAGES in CMakeLists.txt;
  - a file Bazel lacks (train/, models/, data/ list their files by name): add it to the
    cc_library in that folder's BUILD, or delete it;
  - src flags: the ISA flags come from core/isa.bzl and the families from _KERNEL_FAMILIES in
    core/BUILD; other copts are SIMDNN_LAYERS_COPTS (layers/BUILD's _COPTS) in CMakeLists.txt;
  - public/internal: SIMDNN_INTERNAL_HEADERS_REGEX in CMakeLists.txt must match the headers of
    targets visible only inside this repository;
  - dep: an external library (deps.bzl) needs find_package + target_link_libraries in
    CMakeLists.txt (and SIMDNN_BAZEL_DEPS there).""")
for p in problems:
    print("  " + p)
sys.exit(1)
PY
