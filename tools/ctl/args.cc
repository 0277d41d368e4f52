#include "args.hpp"

#include <algorithm>

namespace sonde::ctl {

std::string ParsedArgs::get(std::string_view name, std::string fallback) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
}

std::optional<ParsedArgs> parse_args(const std::vector<std::string> &args,
                                     std::span<const OptionSpec> options, std::string *error) {
    ParsedArgs parsed;
    if (std::any_of(args.begin(), args.end(),
                    [](const std::string &a) { return a == "--help" || a == "-h"; })) {
        parsed.help = true;
        return parsed;
    }
    bool only_positional = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        if (only_positional || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
            if (!only_positional && arg.size() > 1 && arg[0] == '-') {
                *error = "unknown option " + arg;
                return std::nullopt;
            }
            parsed.positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_positional = true;
            continue;
        }
        const size_t eq = arg.find('=');
        const std::string name =
            arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        auto spec = std::find_if(options.begin(), options.end(),
                                 [&](const OptionSpec &o) { return o.name == name; });
        if (spec == options.end()) {
            *error = "unknown option --" + name;
            return std::nullopt;
        }
        if (parsed.has(name)) {
            *error = "option --" + name + " given twice";
            return std::nullopt;
        }
        if (spec->value_name.empty()) {
            if (eq != std::string::npos) {
                *error = "option --" + name + " takes no value";
                return std::nullopt;
            }
            parsed.options[name] = "";
        } else if (eq != std::string::npos) {
            parsed.options[name] = arg.substr(eq + 1);
        } else if (i + 1 < args.size()) {
            parsed.options[name] = args[++i];
        } else {
            *error = "option --" + name + " needs a value (" + std::string(spec->value_name) + ")";
            return std::nullopt;
        }
    }
    return parsed;
}

std::string options_help(std::span<const OptionSpec> options) {
    std::string text;
    for (const OptionSpec &o : options) {
        // Appended piece by piece: "  --" + std::string(...) trips GCC 12's -Wrestrict false
        // positive inside libstdc++ (basic_string::_M_replace) at -O3.
        std::string left = "  --";
        left += o.name;
        if (!o.value_name.empty()) {
            left += ' ';
            left += o.value_name;
        }
        if (left.size() < 30)
            left.resize(30, ' ');
        else
            left += "  ";
        text += left + std::string(o.help) + "\n";
    }
    text += "  --help                      this help\n";
    return text;
}

}  // namespace sonde::ctl
