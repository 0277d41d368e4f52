#include "args.hpp"

#include <algorithm>
#include <cstdio>

#include "core/config.hpp"

namespace sonde::ctl {

std::string ParsedArgs::get(std::string_view name, std::string fallback) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
}

uint64_t ParsedArgs::number(std::string_view name, uint64_t fallback) const {
    auto it = options.find(name);
    if (it == options.end()) return fallback;
    return parse_decimal(it->second).value_or(fallback);
}

std::string printable(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (i == 80) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(c));
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out;
}

std::optional<ParsedArgs> parse_args(const std::vector<std::string> &args,
                                     std::span<const OptionSpec> options, std::ostream &err) {
    std::string error;
    auto parsed = parse_args(args, options, &error);
    if (!parsed) err << "sonde-ctl: " << error << "\n";
    return parsed;
}

std::string check_value(const OptionSpec &spec, std::string_view value) {
    const std::string option = "--" + std::string(spec.name);
    const std::string got = " (got '" + printable(value) + "')";
    for (unsigned char c : value)
        if (c < 0x20 || c == 0x7f)
            return option + " must not contain control characters such as a line feed" + got;
    switch (spec.kind) {
        case ValueKind::Text:
            break;
        case ValueKind::Path:
            if (value.empty())
                return option + " needs a path (" + std::string(spec.value_name) + ")";
            break;
        case ValueKind::Number: {
            const std::optional<uint64_t> n = parse_decimal(value);
            if (!n || *n < spec.min || *n > spec.max)
                return option + " must be a whole number from " + std::to_string(spec.min) +
                       " to " + std::to_string(spec.max) + ", written with digits only" + got;
            break;
        }
        case ValueKind::Choice: {
            std::string allowed;
            bool found = false;
            for (std::string_view rest = spec.value_name; !rest.empty();) {
                const size_t bar = rest.find('|');
                const std::string_view word = rest.substr(0, bar);
                found = found || word == value;
                allowed += (allowed.empty() ? "" : ", ") + std::string(word);
                rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
            }
            if (!found) return option + " must be one of " + allowed + got;
            break;
        }
    }
    return {};
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
                *error = "unknown option " + printable(arg);
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
            *error = "unknown option --" + printable(name);
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
            continue;
        }
        std::string value;
        if (eq != std::string::npos) {
            value = arg.substr(eq + 1);
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            *error = "option --" + name + " needs a value (" + std::string(spec->value_name) + ")";
            return std::nullopt;
        }
        if (std::string why = check_value(*spec, value); !why.empty()) {
            *error = why;
            return std::nullopt;
        }
        parsed.options[name] = value;
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
        text += left + std::string(o.help);
        if (o.kind == ValueKind::Number)
            text += " [" + std::to_string(o.min) + ".." + std::to_string(o.max) + "]";
        text += "\n";
    }
    text += "  --help                      this help\n";
    return text;
}

}  // namespace sonde::ctl
