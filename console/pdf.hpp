#pragma once
// The pages' PDF export (docs/console.md#pdf-export): WeasyPrint run as a subprocess on the
// page's print HTML. No shell: the program is executed directly with a fixed argument list, in
// a private temporary directory, with a bounded time, CPU, memory and output, an environment of
// its own, and its base URL set to that empty directory; the HTML it gets references nothing
// outside itself (styles inline, the logo as a data: URI), so it fetches nothing.

#include <cstdint>
#include <string>

namespace sonde::console {

struct PdfOptions {
    std::string program = "/usr/bin/weasyprint";
    unsigned timeout_seconds = 180;       // wall clock, then SIGKILL
    uint64_t max_bytes = 32ull << 20;     // the PDF; larger fails (RLIMIT_FSIZE too)
    uint64_t max_memory = 2048ull << 20;  // RLIMIT_AS of the converter
    std::string temp_dir = "/tmp";        // where the private working directory is made
    unsigned max_concurrent = 2;          // conversions at once in the process; more: busy
};

enum class PdfResult : uint8_t { Ok, Busy, Failed };

// Converts `html` (UTF-8) to PDF bytes in `pdf`. Busy when max_concurrent conversions already
// run; Failed (with `error`) when the program is missing, fails, exceeds a bound or times out.
PdfResult html_to_pdf(const std::string &html, const PdfOptions &options, std::string &pdf,
                      std::string *error);

}  // namespace sonde::console
