// Writing the tool's text outputs (the predictions CSV) so that a failure leaves nothing behind.
#pragma once

#include <string>
#include <string_view>

namespace simdnn::cli {

// Writes `text` to `path` atomically: into a temporary file beside it, flushed to disk, then
// renamed over `path` (rename within one directory is atomic), so a failure or a crash leaves
// either no file or the old one, never a partial file. Throws CliError naming `option` and the
// path; the temporary file is removed then.
void write_file_atomically(const std::string& path, std::string_view text, const std::string& option);

// Throws CliError naming `option` unless the folder `path` would be written into exists (so a
// long training run does not end in "cannot write") and `path` is not itself a folder.
void check_output_path(const std::string& path, const std::string& option);

// The whole of a small text file (a JSON spec). Throws CliError naming `option` and the reason.
std::string read_text_file(const std::string& path, const std::string& option);

}  // namespace simdnn::cli
