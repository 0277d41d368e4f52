#include "process_runner.hpp"

#include <cstdio>
#include <cstdlib>

namespace sonde::shim {

std::unique_ptr<HostProcess> start_host(const Options &options, const Dirs &dirs,
                                        const std::vector<std::string> &role_args,
                                        const std::string &boot_id, std::string *error) {
    std::vector<std::string> args = options.args;
    for (const std::string &a : {std::string("--lib"), options.lib, std::string("--config-dir"),
                                 dirs.config_dir, std::string("--shm-dir"), dirs.shm_dir})
        args.push_back(a);
    args.insert(args.end(), role_args.begin(), role_args.end());
    HostProcess::Options env;
    if (!boot_id.empty()) env.env.emplace_back("SONDE_BOOT_ID", boot_id);
    std::fflush(nullptr);  // nothing of the driver's buffers may be written twice
    auto host = std::make_unique<HostProcess>(self_path(), args, env);
    if (!host->started()) {
        *error = "cannot start a host process (" + self_path() + ")";
        return nullptr;
    }
    return host;
}

std::string exit_text(int status) {
    return status < 0 ? std::string("killed") : "exit " + std::to_string(status);
}

bool set_environment(const std::string &name, const std::string &value) {
#if defined(_WIN32)
    return ::_putenv_s(name.c_str(), value.c_str()) == 0;
#else
    return ::setenv(name.c_str(), value.c_str(), 1) == 0;
#endif
}

bool read_driver_line(std::string &line) {
    line.clear();
    for (;;) {
        const int ch = std::fgetc(stdin);
        if (ch == EOF) return false;
        if (ch == '\n') break;
        line += char(ch);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
}

bool write_driver_line(const std::string &line) {
    return std::fputs((line + "\n").c_str(), stdout) >= 0 && std::fflush(stdout) == 0;
}

}  // namespace sonde::shim
