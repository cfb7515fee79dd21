#include <simdnn/core/cpu_info.h>

#include <cpuid.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace simdnn {
namespace internal {

std::size_t parse_cache_size(const std::string& text) {
  std::size_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i < 12; ++i) {
    value = value * 10 + static_cast<std::size_t>(text[i] - '0');
  }
  if (i == 0) return 0;
  const std::string unit = text.substr(i);
  if (unit.empty() || unit == "\n") return value;
  if (unit[0] == 'K') return value << 10;
  if (unit[0] == 'M') return value << 20;
  if (unit[0] == 'G') return value << 30;
  return 0;
}

}  // namespace internal

namespace {

// Leaf 4 (Intel) and 0x8000001D (AMD) share one layout: EAX[4:0] type (1 data, 2 instruction,
// 3 unified, 0 = no more caches), EAX[7:5] level; size = ways · partitions · line size · sets,
// each stored minus one in EBX[31:22], EBX[21:12], EBX[11:0] and ECX.
bool read_cpuid_caches(unsigned leaf, CacheSizes& out) {
  unsigned max_leaf = __get_cpuid_max(leaf & 0x80000000u, nullptr);
  if (max_leaf < leaf) return false;
  bool any = false;
  for (unsigned index = 0; index < 16; ++index) {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    __cpuid_count(leaf, index, eax, ebx, ecx, edx);
    const unsigned type = eax & 0x1f;
    if (type == 0) break;
    if (type == 2) continue;  // instruction cache
    const unsigned level = (eax >> 5) & 0x7;
    const std::size_t ways = ((ebx >> 22) & 0x3ff) + 1;
    const std::size_t size = ways * (((ebx >> 12) & 0x3ff) + 1) * ((ebx & 0xfff) + 1) *
                             (static_cast<std::size_t>(ecx) + 1);
    if (level == 1) {
      out.l1d = size;
      out.l1d_ways = ways;
    } else if (level == 2) {
      out.l2 = size;
    } else if (level == 3) {
      out.l3 = size;
    }
    any = true;
  }
  return any && out.l1d != 0;
}

bool is_amd() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  return std::strcmp(vendor, "AuthenticAMD") == 0 || std::strcmp(vendor, "HygonGenuine") == 0;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool read_sysfs_caches(CacheSizes& out) {
  for (int index = 0; index < 16; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    const std::string level = read_line(dir + "level");
    if (level.empty()) break;
    const std::string type = read_line(dir + "type");
    if (type == "Instruction") continue;
    const std::size_t size = internal::parse_cache_size(read_line(dir + "size"));
    if (level == "1") {
      out.l1d = size;
      out.l1d_ways = internal::parse_cache_size(read_line(dir + "ways_of_associativity"));
    } else if (level == "2") {
      out.l2 = size;
    } else if (level == "3") {
      out.l3 = size;
    }
  }
  return out.l1d != 0;
}

CacheSizes detect_caches() {
  CacheSizes sizes;
  if (read_cpuid_caches(is_amd() ? 0x8000001Du : 4u, sizes)) return sizes;
  sizes = CacheSizes{};
  if (read_sysfs_caches(sizes)) return sizes;
  return CacheSizes{};
}

std::string brand_string() {
  if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000004u) return "unknown";
  std::array<unsigned, 12> regs{};
  for (unsigned i = 0; i < 3; ++i) {
    __cpuid(0x80000002u + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
  }
  char brand[49] = {};
  std::memcpy(brand, regs.data(), 48);
  std::string model(brand);
  const auto first = model.find_first_not_of(' ');
  const auto last = model.find_last_not_of(' ');
  return first == std::string::npos ? "unknown" : model.substr(first, last - first + 1);
}

// CPUID leaf 1's family and model as Intel and AMD display them (Linux's "cpu family" and
// "model"): the extended fields are added for family 15 and, for the model, family 6 too.
std::string family_and_model() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return "";
  const unsigned base_family = (eax >> 8) & 0xF;
  const unsigned family = base_family == 0xF ? base_family + ((eax >> 20) & 0xFF) : base_family;
  unsigned model = (eax >> 4) & 0xF;
  if (base_family == 0x6 || base_family == 0xF) model += ((eax >> 16) & 0xF) << 4;
  return "family " + std::to_string(family) + " model " + std::to_string(model);
}

std::string detect_model() {
  const std::string ids = family_and_model();
  return ids.empty() ? brand_string() : brand_string() + " (" + ids + ")";
}

}  // namespace

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = detect_caches();
  return sizes;
}

const std::string& cpu_model() {
  static const std::string model = detect_model();
  return model;
}

}  // namespace simdnn
