#pragma once
// A small command-line parser: positional arguments and "--name value" / "--name=value"
// options, each command declaring the options it accepts. Anything else is a usage error.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::ctl {

struct OptionSpec {
    std::string_view name;        // without the leading "--"
    std::string_view value_name;  // empty: a flag without a value
    std::string_view help;
};

struct ParsedArgs {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> options;  // flags map to ""
    bool help = false;

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    std::string get(std::string_view name, std::string fallback = {}) const;
};

// "--help" / "-h" anywhere sets help and skips the other checks; "--" ends the options.
std::optional<ParsedArgs> parse_args(const std::vector<std::string> &args,
                                     std::span<const OptionSpec> options, std::string *error);

// "  --name VALUE   help" lines for a command's --help.
std::string options_help(std::span<const OptionSpec> options);

}  // namespace sonde::ctl
