// The one dispatch from an Isa to a kernel family's table, for every family (gemm, elementwise,
// optimizer, ...). Compiled into baseline code: it only calls make_<family>_kernels<Arch>(),
// which the per-ISA files instantiate with their own flags.
#pragma once

#include <stdexcept>
#include <string>

#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/arch.h>

namespace simdnn::internal {

// The table `make.template operator()<Arch>()` builds for `isa`'s xsimd architecture, built once
// (thread-safe, on first use) per family and ISA. `family` names the caller in errors. Throws
// std::invalid_argument if the CPU lacks `isa`: building the table would already run its
// instructions.
template <class Table, class Make>
const Table& kernel_table(const char* family, Isa isa, Make make) {
  // The CPU check runs while a table is built, so a built table costs one guard load per call
  // (every kernel call looks its table up). A failed check throws out of the initializer, which
  // leaves the table unbuilt: the next call checks again.
  auto build = [&]<class Arch>() {
    if (!cpu_supports(isa)) {
      throw std::invalid_argument(std::string(family) + ": this CPU does not support " + isa_name(isa));
    }
    return make.template operator()<Arch>();
  };
  switch (isa) {
#define SIMDNN_KERNEL_TABLE_CASE(name)                                                   \
  case Isa::name: {                                                                      \
    static const Table table = build.template operator()<XsimdArch<Isa::name>::type>(); \
    return table;                                                                        \
  }
    SIMDNN_ISA_LIST(SIMDNN_KERNEL_TABLE_CASE)
#undef SIMDNN_KERNEL_TABLE_CASE
  }
  throw std::invalid_argument(std::string(family) + ": unknown ISA " +
                              std::to_string(static_cast<int>(isa)));
}

}  // namespace simdnn::internal
