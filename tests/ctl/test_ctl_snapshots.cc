// sonde-ctl keygen and open: the reading side of snapshots, run as the binary on real spool
// files written by the plugin.
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../unit/temp_dir.hpp"
#include "core/config.hpp"
#include "sonde.h"

namespace fs = std::filesystem;

namespace {

struct Result {
    int status;
    std::string out;
};

Result run(const std::string &args) {
    const std::string cmd = std::string(SONDE_CTL_PATH) + " " + args + " 2>&1";
    FILE *p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    return {WEXITSTATUS(status), out};
}

const sonde_api &api() {
    static const sonde_api *t = [] {
        void *so = ::dlopen(SONDE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
        REQUIRE(so);
        return reinterpret_cast<sonde_get_api_fn>(::dlsym(so, "sonde_get_api"))(SONDE_ABI_MAJOR,
                                                                                SONDE_ABI_MINOR);
    }();
    return *t;
}

void flip_byte(const std::string &path, long offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset);
    char c;
    f.get(c);
    f.seekp(offset);
    f.put(char(c ^ 0x01));
}

}  // namespace

TEST_CASE("keygen, then open verifies, decrypts and prints a real snapshot") {
    const TempDir dir_tmp("sonde-ctl-snap-");
    const std::string &dir = dir_tmp.path;
    for (const char *sub : {"conf", "shm", "spool"}) fs::create_directories(dir + "/" + sub);
    REQUIRE(run("keygen --out " + dir + "/console.key --public " + dir + "/console.pub").status ==
            0);
    REQUIRE(
        run("keygen --out " + dir + "/server.key --public " + dir + "/server.pub --base 0310001A")
            .status == 0);
    REQUIRE(run("keygen --out " + dir + "/other.key").status == 0);
    CHECK(run("keygen --out " + dir + "/server.key").status == 1);  // never overwrites a key
    CHECK((fs::status(dir + "/server.key").permissions() & fs::perms::group_all) ==
          fs::perms::none);

    sonde::BaseConfig config;
    config.enabled = true;
    config.secret = {3, 4};
    config.snapshots.spool_dir = dir + "/spool";
    config.snapshots.console_public_key = dir + "/console.pub";
    config.snapshots.sender_key = dir + "/server.key";
    REQUIRE(sonde::save_config(dir + "/conf/0310001A.conf", config, nullptr));

    sonde_open_params p{};
    p.struct_size = sizeof p;
    p.product = SONDE_PRODUCT_PRONOTE;
    p.base_id = "0310001A";
    const std::string conf = dir + "/conf", shm = dir + "/shm";
    p.config_dir = conf.c_str();
    p.shm_dir = shm.c_str();
    sonde_base *base = nullptr;
    sonde_writer *w = nullptr;
    REQUIRE(api().base_open(&p, &base) == SONDE_OK);
    REQUIRE(api().clock_set(base, 1795510800) == SONDE_OK);
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    for (int i = 0; i < 9; ++i) REQUIRE(api().count(w, SONDE_EV_QUIZ_CREATED, 0, 1) == SONDE_OK);
    api().writer_release(w);
    REQUIRE(api().base_close(base) == SONDE_OK);  // clean shutdown: a snapshot

    std::string file;
    for (const auto &e : fs::directory_iterator(dir + "/spool"))
        if (e.path().extension() == ".sonde") file = e.path();
    REQUIRE_FALSE(file.empty());
    const std::string keys = " --key " + dir + "/console.key --trust " + dir + "/server.pub";

    Result ok = run("open " + file + keys);
    INFO(ok.out);
    REQUIRE(ok.status == 0);
    const auto json = nlohmann::json::parse(ok.out);
    REQUIRE(json["bases"].contains("0310001A"));
    CHECK(json["bases"]["0310001A"]["snapshot"]["sequence"] == 1);
    CHECK(ok.out.find("quiz_created") != std::string::npos);

    // Replay, wrong key, untrusted sender, tampering, truncation: refused, exit 1.
    CHECK(run("open " + file + keys + " --after-sequence 1")
              .out.find("refused (replayed sequence)") != std::string::npos);
    CHECK(run("open " + file + " --key " + dir + "/other.key --trust " + dir + "/server.pub")
              .status == 1);
    CHECK(run("open " + file + " --key " + dir + "/console.key --trust 0310001A=" + dir +
              "/console.pub")
              .out.find("refused (unknown sender)") != std::string::npos);
    const std::string copy = dir + "/tampered.sonde";
    fs::copy_file(file, copy);
    flip_byte(copy, 45);  // the sequence, inside the authenticated header
    Result tampered = run("open " + copy + keys);
    CHECK(tampered.status == 1);
    CHECK(tampered.out.find("refused (authentication failed)") != std::string::npos);
    fs::resize_file(copy, fs::file_size(copy) - 7);
    CHECK(run("open " + copy + keys).out.find("refused (truncated)") != std::string::npos);
}

namespace {

// One snapshot of base `uai`, written by the real plugin with `sender_key` into DIR/spool-TAG.
std::string spool_one(const std::string &dir, const std::string &tag, const std::string &uai,
                      const std::string &sender_key) {
    const std::string conf = dir + "/conf-" + tag, shm = dir + "/shm-" + tag,
                      spool = dir + "/spool-" + tag;
    for (const std::string &sub : {conf, shm, spool}) fs::create_directories(sub);
    sonde::BaseConfig config;
    config.enabled = true;
    config.secret = {5, 6};
    config.snapshots.spool_dir = spool;
    config.snapshots.console_public_key = dir + "/console.pub";
    config.snapshots.sender_key = sender_key;
    REQUIRE(sonde::save_config(conf + "/" + uai + ".conf", config, nullptr));
    sonde_open_params p{};
    p.struct_size = sizeof p;
    p.product = SONDE_PRODUCT_PRONOTE;
    p.base_id = uai.c_str();
    p.config_dir = conf.c_str();
    p.shm_dir = shm.c_str();
    sonde_base *base = nullptr;
    sonde_writer *w = nullptr;
    REQUIRE(api().base_open(&p, &base) == SONDE_OK);
    REQUIRE(api().clock_set(base, 1795510800) == SONDE_OK);
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    REQUIRE(api().count(w, SONDE_EV_QUIZ_CREATED, 0, 4) == SONDE_OK);
    api().writer_release(w);
    REQUIRE(api().base_close(base) == SONDE_OK);  // clean shutdown: a snapshot
    for (const auto &e : fs::directory_iterator(spool))
        if (e.path().extension() == ".sonde") return e.path();
    FAIL("no snapshot in " << spool);
    return {};
}

}  // namespace

TEST_CASE("open: a server key is trusted for its own bases only") {
    const TempDir dir_tmp("sonde-ctl-bind-");
    const std::string &dir = dir_tmp.path;
    REQUIRE(run("keygen --out " + dir + "/console.key --public " + dir + "/console.pub").status ==
            0);
    // Two school servers, each with its key, registered for its base in its public half.
    REQUIRE(
        run("keygen --out " + dir + "/a.key --public " + dir + "/a.pub --base 0310001A").status ==
        0);
    REQUIRE(
        run("keygen --out " + dir + "/b.key --public " + dir + "/b.pub --base 0310002B").status ==
        0);
    const std::string from_a = spool_one(dir, "a", "0310001A", dir + "/a.key");
    const std::string from_b = spool_one(dir, "b", "0310002B", dir + "/b.key");
    // Server B seals a file that claims base A, with its own (trusted) key.
    const std::string forged = spool_one(dir, "forged", "0310001A", dir + "/b.key");
    const std::string keys =
        " --key " + dir + "/console.key --trust " + dir + "/a.pub," + dir + "/b.pub";

    const Result good = run("open " + from_a + " " + from_b + keys);
    INFO(good.out);
    CHECK(good.status == 0);
    const Result refused = run("open " + forged + keys);
    INFO(refused.out);
    CHECK(refused.status == 1);
    CHECK(refused.out.find("refused (sender not registered for the base)") != std::string::npos);
    CHECK(refused.out.find("not registered for base 0310001A") != std::string::npos);
    const Result audit = run("audit " + forged + keys);
    CHECK(audit.status == 1);
    CHECK(audit.out.find("refused (sender not registered for the base)") != std::string::npos);

    // UAI=FILE names the base of a public file that names none (written by an older keygen),
    // and may not contradict one that does.
    REQUIRE(run("keygen --out " + dir + "/legacy.key --public " + dir + "/legacy.pub").status == 0);
    const std::string legacy = spool_one(dir, "legacy", "0310001A", dir + "/legacy.key");
    const std::string console = " --key " + dir + "/console.key";
    CHECK(run("open " + legacy + console + " --trust 0310001A=" + dir + "/legacy.pub").status == 0);
    const Result bare = run("open " + legacy + console + " --trust " + dir + "/legacy.pub");
    CHECK(bare.status == 1);
    CHECK(bare.out.find("names no base") != std::string::npos);
    CHECK(run("open " + legacy + console + " --trust 0310002B=" + dir + "/legacy.pub")
              .out.find("refused (sender not registered for the base)") != std::string::npos);
    const Result contradiction =
        run("open " + forged + console + " --trust 0310001A=" + dir + "/b.pub");
    CHECK(contradiction.status == 1);
    CHECK(contradiction.out.find("other bases than 0310001A") != std::string::npos);

    // keygen checks its bases.
    CHECK(run("keygen --out " + dir + "/c.key --public " + dir + "/c.pub --base 310001A").status ==
          2);
    CHECK(run("keygen --out " + dir + "/c.key --base 0310001A").status == 2);  // no --public
    CHECK(run("keygen --out " + dir + "/c.key --public " + dir + "/c.pub --base 0310001A,0310001A")
              .status == 2);
    fs::remove_all(dir);
}

TEST_CASE("open and audit bound what they read: /dev/zero, a FIFO, a huge file") {
    const TempDir dir_tmp("sonde-ctl-bound-");
    const std::string &dir = dir_tmp.path;
    REQUIRE(run("keygen --out " + dir + "/console.key --public " + dir + "/console.pub").status ==
            0);
    REQUIRE(
        run("keygen --out " + dir + "/a.key --public " + dir + "/a.pub --base 0310001A").status ==
        0);
    const std::string keys = " --key " + dir + "/console.key --trust " + dir + "/a.pub";
    const std::string fifo = dir + "/fifo.sonde";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string huge = dir + "/huge.sonde";
    { std::ofstream(huge) << "SONDSNAP"; }
    fs::resize_file(huge, uintmax_t{16} << 30);  // sparse
    for (const std::string command : {"open", "audit"}) {
        INFO(command);
        // Each of these used to read until memory ran out, or to wait for a writer forever
        // (ctest's timeout is the hang guard).
        const Result zero = run(command + " /dev/zero" + keys);
        CHECK(zero.status == 1);
        CHECK(zero.out.find("/dev/zero: refused (too large)") != std::string::npos);
        const Result empty = run(command + " " + fifo + keys);
        CHECK(empty.status == 1);
        CHECK(empty.out.find("refused (truncated)") != std::string::npos);
        const Result big = run(command + " " + huge + keys);
        CHECK(big.status == 1);
        CHECK(big.out.find("refused (too large)") != std::string::npos);
    }
    // --max-size lowers the file bound with the plaintext's.
    const std::string file = spool_one(dir, "a", "0310001A", dir + "/a.key");
    CHECK(run("open " + file + keys).status == 0);
    CHECK(run("open " + file + keys + " --max-size 16").out.find("refused (too large)") !=
          std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("status shows the shipper's last error and its time, not all clear") {
    // Three ways a sender key breaks the shipper: missing, readable by others, truncated.
    for (const std::string broken : {"missing", "mode", "truncated"}) {
        INFO(broken);
        const TempDir dir_tmp("sonde-ctl-status-");
        const std::string &dir = dir_tmp.path;
        for (const char *sub : {"conf", "shm", "spool"}) fs::create_directories(dir + "/" + sub);
        REQUIRE(
            run("keygen --out " + dir + "/console.key --public " + dir + "/console.pub").status ==
            0);
        const std::string key = dir + "/server.key";
        if (broken != "missing") REQUIRE(run("keygen --out " + key).status == 0);
        if (broken == "mode")
            fs::permissions(key, fs::perms::group_read | fs::perms::others_read,
                            fs::perm_options::add);
        if (broken == "truncated") fs::resize_file(key, 40);
        sonde::BaseConfig config;
        config.enabled = true;
        config.secret = {3, 4};
        config.snapshots.spool_dir = dir + "/spool";
        config.snapshots.console_public_key = dir + "/console.pub";
        config.snapshots.sender_key = key;
        REQUIRE(sonde::save_config(dir + "/conf/0310001A.conf", config, nullptr));

        sonde_open_params p{};
        p.struct_size = sizeof p;
        p.product = SONDE_PRODUCT_PRONOTE;
        p.base_id = "0310001A";
        const std::string conf = dir + "/conf", shm = dir + "/shm";
        p.config_dir = conf.c_str();
        p.shm_dir = shm.c_str();
        sonde_base *base = nullptr;
        REQUIRE(api().base_open(&p, &base) == SONDE_OK);
        REQUIRE(api().clock_set(base, 1795510800) == SONDE_OK);  // a shipper step: it fails

        const Result r = run("status --shm-dir " + shm + " --config-dir " + conf);
        INFO(r.out);
        CHECK(r.status == 0);
        CHECK(r.out.find("all clear") == std::string::npos);
        CHECK(r.out.find("snapshot_errors=") != std::string::npos);
        CHECK(r.out.find("shipper: FAILING") != std::string::npos);
        CHECK(r.out.find("error at 2026-11-24T09:00:00Z") != std::string::npos);
        CHECK(r.out.find(key) != std::string::npos);  // the reason names the key file
        const Result j =
            run("status --shm-dir " + shm + " --config-dir " + conf + " --format json");
        const auto json = nlohmann::json::parse(j.out);
        const auto &shipper = json["configured"][0]["shipper"];
        CHECK(shipper["failing"] == true);
        CHECK(shipper["last_error_at"] == 1795510800);
        CHECK(shipper["last_error"].get<std::string>().find(key) != std::string::npos);
        REQUIRE(api().base_close(base) == SONDE_OK);
    }
}

TEST_CASE("status says when the shipper process is stopped") {
    const TempDir dir_tmp("sonde-ctl-stopped-");
    const std::string &dir = dir_tmp.path;
    for (const char *sub : {"conf", "shm", "spool"}) fs::create_directories(dir + "/" + sub);
    REQUIRE(run("keygen --out " + dir + "/console.key --public " + dir + "/console.pub").status ==
            0);
    REQUIRE(run("keygen --out " + dir + "/server.key").status == 0);
    sonde::BaseConfig config;
    config.enabled = true;
    config.secret = {3, 4};
    config.snapshots.spool_dir = dir + "/spool";
    config.snapshots.console_public_key = dir + "/console.pub";
    config.snapshots.sender_key = dir + "/server.key";
    REQUIRE(sonde::save_config(dir + "/conf/0310001A.conf", config, nullptr));
    const std::string conf = dir + "/conf", shm = dir + "/shm";
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t shipper = ::fork();
    if (shipper == 0) {  // a host process that becomes the shipper, then idles
        sonde_open_params p{};
        p.struct_size = sizeof p;
        p.product = SONDE_PRODUCT_PRONOTE;
        p.base_id = "0310001A";
        p.config_dir = conf.c_str();
        p.shm_dir = shm.c_str();
        sonde_base *base = nullptr;
        if (api().base_open(&p, &base) != SONDE_OK) ::_exit(3);
        api().clock_set(base, 1795510800);
        char byte = 'r';
        if (::write(ready[1], &byte, 1) != 1) ::_exit(4);
        for (;;) ::pause();
    }
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    const std::string cmd = "status --shm-dir " + shm + " --config-dir " + conf;
    CHECK(run(cmd).out.find("STOPPED") == std::string::npos);
    ::kill(shipper, SIGSTOP);
    const Result r = run(cmd);
    INFO(r.out);
    CHECK(r.out.find("process " + std::to_string(shipper) + " is STOPPED") != std::string::npos);
    const auto json = nlohmann::json::parse(run(cmd + " --format json").out);
    CHECK(json["configured"][0]["shipper"]["process"] == "stopped");
    ::kill(shipper, SIGKILL);
    ::waitpid(shipper, nullptr, 0);
}
