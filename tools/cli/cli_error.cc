#include "tools/cli/cli_error.h"

namespace simdnn::cli {

std::string one_line(std::string message) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c != '\n' && c != '\r') {
      out += c;
    } else if (!out.empty() && i + 1 < message.size() && message[i + 1] != '\n' && message[i + 1] != '\r') {
      out += "; ";
    }
  }
  return out;
}

}  // namespace simdnn::cli
