#pragma once
// A small command-line parser: positional arguments and "--name value" / "--name=value"
// options, each command declaring the options it accepts and what their values may be.
// Anything else is a usage error (exit code 2), reported before the command does anything.

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::ctl {

// What an option's value may be. Every value is refused if it holds a control character
// (line feed, CR, NUL, tab, escape...).
enum class ValueKind {
    Text,    // checked by the command (time zone, MM-DD...)
    Path,    // a non-empty path
    Number,  // a whole decimal number in [min, max]: digits only, no sign, no overflow
    Choice,  // one of the '|'-separated words of value_name
};

struct OptionSpec {
    std::string_view name;        // without the leading "--"
    std::string_view value_name;  // empty: a flag without a value; Choice: "a|b|c"
    std::string_view help;
    ValueKind kind = ValueKind::Text;
    uint64_t min = 0, max = 0;  // Number only, inclusive
};

struct ParsedArgs {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> options;  // flags map to ""
    bool help = false;

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    std::string get(std::string_view name, std::string fallback = {}) const;
    // The value of a Number option (validated by parse_args), or fallback when absent.
    uint64_t number(std::string_view name, uint64_t fallback) const;
};

// "--help" / "-h" anywhere sets help and skips the other checks; "--" ends the options.
// Every option value is checked against its spec; *error names the option and what it takes.
std::optional<ParsedArgs> parse_args(const std::vector<std::string> &args,
                                     std::span<const OptionSpec> options, std::string *error);

// parse_args, with the error written to `err` as "sonde-ctl: <error>".
std::optional<ParsedArgs> parse_args(const std::vector<std::string> &args,
                                     std::span<const OptionSpec> options, std::ostream &err);

// Why `value` is not valid for `spec`, or empty. Exposed for the tests.
std::string check_value(const OptionSpec &spec, std::string_view value);

// `text` for an error message: control characters shown as \n, \r, \t or \xNN, and cut
// after 80 characters.
std::string printable(std::string_view text);

// "  --name VALUE   help" lines for a command's --help.
std::string options_help(std::span<const OptionSpec> options);

}  // namespace sonde::ctl
