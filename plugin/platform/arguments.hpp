#pragma once
// A program's arguments in UTF-8, the encoding of every path and name in Sonde. POSIX: argv
// as given. Windows: argv is in the ANSI code page, which cannot hold every name (a folder
// "Collège" on a Greek system, any name outside the code page), so the arguments come from
// the wide command line instead, converted. For the tools and the test hosts' main(), never
// for the library.

#include <string>
#include <vector>

namespace sonde::platform {

std::vector<std::string> utf8_arguments(int argc, char **argv);

}  // namespace sonde::platform
