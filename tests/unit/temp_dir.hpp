#pragma once
// A fresh directory under the system's temporary directory, removed with everything in it.
// Portable (Windows under Wine too): a random name created exclusively, not mkdtemp; the path
// uses "/" on every OS.

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

// Creates "<temp>/<prefix><16 random hex digits>"; empty on failure.
inline std::string make_temp_dir(const char *prefix) {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        char name[64];
        std::snprintf(name, sizeof name, "%s%08x%08x", prefix, unsigned(rd()), unsigned(rd()));
        std::error_code ec;
        const std::filesystem::path p = std::filesystem::temp_directory_path(ec) / name;
        if (!ec && std::filesystem::create_directory(p, ec) && !ec) return p.generic_string();
    }
    return {};
}

struct TempDir {
    std::string path;
    explicit TempDir(const char *prefix = "sonde-unit-") : path(make_temp_dir(prefix)) {}
    ~TempDir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
};
