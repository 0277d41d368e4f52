// Key files: ids, 0600 private files whatever the umask, and everything load refuses.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "fixtures.hpp"
#include "snapshot/keys.hpp"

using namespace fixtures;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char name[] = "/tmp/sonde-keys-XXXXXX";
        REQUIRE(::mkdtemp(name));
        path = name;
    }
    ~TempDir() { fs::remove_all(path); }
    std::string file(const char *name) const { return (path / name).string(); }
};

struct Umask {
    mode_t old;
    explicit Umask(mode_t m) : old(::umask(m)) {}
    ~Umask() { ::umask(old); }
};

mode_t mode_of(const std::string &path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string read_text(const std::string &path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Rewrites a key file in place (keeping its mode), replacing one line's value.
void replace_line(const std::string &path, const std::string &name, const std::string &value) {
    std::string text = read_text(path);
    const size_t at = text.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    const size_t end = text.find('\n', at + 1);
    text.replace(at + 1, end - at - 1, name + " " + value);
    std::ofstream(path, std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("key id is the first 8 bytes of SHA-256 of the public key", "[keys]") {
    const PublicKey zero{};
    // SHA-256 of 32 zero bytes = 66687aadf862bd776c8fc18b8e9f8e20...
    CHECK(to_hex(key_id(zero)) == "66687aadf862bd77");
    CHECK(key_id(keys().school.public_key) != key_id(keys().console.public_key));
}

TEST_CASE("generated private key file is 0600 whatever the umask, and loads back", "[keys]") {
    TempDir dir;
    for (const mode_t umask_value : {mode_t(0), mode_t(022), mode_t(077)}) {
        const Umask u(umask_value);
        const std::string path =
            dir.file(("school" + std::to_string(umask_value) + ".key").c_str());
        sonde::crypto::KeyPair generated{}, loaded{};
        std::string error;
        REQUIRE(generate_key_file(path, generated, &error));
        CHECK(mode_of(path) == 0600);
        REQUIRE(load_key_pair(path, loaded, &error));
        CHECK(loaded.private_key == generated.private_key);
        CHECK(loaded.public_key == generated.public_key);
        PublicKey pub{};
        REQUIRE(load_public_key(path, pub, &error));  // the public half of a private file
        CHECK(pub == generated.public_key);
        CHECK(read_text(path).find("key-id " + to_hex(key_id(generated.public_key))) !=
              std::string::npos);
    }
    CHECK(fs::directory_iterator(dir.path) != fs::directory_iterator());
    for (const auto &entry : fs::directory_iterator(dir.path))  // no temporary file left
        CHECK(entry.path().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("public key files", "[keys]") {
    TempDir dir;
    const Umask u(0);
    const std::string path = dir.file("console.pub");
    std::string error;
    REQUIRE(save_public_key(path, keys().console.public_key, false, &error));
    CHECK(mode_of(path) == 0644);
    PublicKey pub{};
    REQUIRE(load_public_key(path, pub, &error));
    CHECK(pub == keys().console.public_key);
    sonde::crypto::KeyPair kp{};
    CHECK_FALSE(load_key_pair(path, kp, &error));
    CHECK(error.find("public key only") != std::string::npos);
    CHECK(read_text(path).find("private") == std::string::npos);
}

TEST_CASE("a public key file names the bases its key seals for", "[keys]") {
    TempDir dir;
    const std::string path = dir.file("server.pub");
    std::string error;
    REQUIRE(
        save_public_key(path, keys().school.public_key, false, &error, {"0310001A", "0310002B"}));
    CHECK(read_text(path).find("\nbases 0310001A,0310002B\n") != std::string::npos);
    PublicKey pub{};
    std::vector<std::string> bases;
    REQUIRE(load_public_key(path, pub, &error, &bases));
    CHECK(pub == keys().school.public_key);
    CHECK(bases == std::vector<std::string>{"0310001A", "0310002B"});
    // A file without the line: no base (older files).
    const std::string plain = dir.file("plain.pub");
    REQUIRE(save_public_key(plain, keys().school.public_key, false, &error));
    REQUIRE(load_public_key(plain, pub, &error, &bases));
    CHECK(bases.empty());
    // Not UAIs, repeated, empty: refused, when writing and when reading.
    CHECK_FALSE(save_public_key(dir.file("bad.pub"), pub, false, &error, {"310001A"}));
    CHECK_FALSE(save_public_key(dir.file("bad.pub"), pub, false, &error, {"0310001A", "0310001A"}));
    const std::string text = read_text(plain);
    for (const std::string line : {"bases ", "bases 0310001a", "bases 0310001A,", "bases ,0310001A",
                                   "bases 0310001A,0310001A", "bases 0310001A 0310002B"}) {
        INFO(line);
        std::ofstream(dir.file("edited.pub")) << text << line << "\n";
        CHECK_FALSE(load_public_key(dir.file("edited.pub"), pub, &error, &bases));
        CHECK(error.find("bases") != std::string::npos);
    }
    // Only the public half names bases: the private file keeps the format the plugin reads.
    const std::string priv = dir.file("school.key");
    REQUIRE(save_key_pair(priv, keys().school, false, &error));
    std::ofstream(priv, std::ios::app) << "bases 0310001A\n";
    sonde::crypto::KeyPair kp{};
    CHECK_FALSE(load_key_pair(priv, kp, &error));
    CHECK(error.find("bases belongs in the public file") != std::string::npos);
}

TEST_CASE("key files are never overwritten by accident", "[keys]") {
    TempDir dir;
    const std::string path = dir.file("school.key");
    std::string error;
    REQUIRE(save_key_pair(path, keys().school, false, &error));
    CHECK_FALSE(save_key_pair(path, keys().stranger, false, &error));
    CHECK(error.find("already exists") != std::string::npos);
    sonde::crypto::KeyPair kp{};
    REQUIRE(load_key_pair(path, kp, &error));
    CHECK(kp.public_key == keys().school.public_key);
    sonde::crypto::KeyPair generated{};
    CHECK_FALSE(generate_key_file(path, generated, &error));
    REQUIRE(save_key_pair(path, keys().stranger, true, &error));  // explicit overwrite
    REQUIRE(load_key_pair(path, kp, &error));
    CHECK(kp.public_key == keys().stranger.public_key);
    CHECK(mode_of(path) == 0600);
}

TEST_CASE("private key files readable by others are refused", "[keys]") {
    TempDir dir;
    const std::string path = dir.file("school.key");
    std::string error;
    REQUIRE(save_key_pair(path, keys().school, false, &error));
    sonde::crypto::KeyPair kp{};
    for (const mode_t mode : {0640, 0604, 0660, 0644}) {
        REQUIRE(::chmod(path.c_str(), mode) == 0);
        CHECK_FALSE(load_key_pair(path, kp, &error));
        CHECK(error.find("chmod 600") != std::string::npos);
    }
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    CHECK(load_key_pair(path, kp, &error));
}

TEST_CASE("malformed or inconsistent key files are refused", "[keys]") {
    TempDir dir;
    const std::string path = dir.file("school.key");
    std::string error;
    sonde::crypto::KeyPair kp{};
    const auto fresh = [&] {
        fs::remove(path);
        REQUIRE(save_key_pair(path, keys().school, false, &error));
    };
    const auto refused = [&](const char *expected) {
        CHECK_FALSE(load_key_pair(path, kp, &error));
        INFO(error);
        CHECK(error.find(expected) != std::string::npos);
    };

    fresh();
    replace_line(path, "key-id", "0000000000000000");
    refused("key-id does not match");
    fresh();
    replace_line(path, "public", to_hex(keys().stranger.public_key));
    refused("key-id does not match");
    fresh();
    replace_line(path, "public", to_hex(keys().stranger.public_key));
    replace_line(path, "key-id", to_hex(key_id(keys().stranger.public_key)));
    refused("not the one of the private key");
    fresh();
    replace_line(path, "private", "zz");
    refused("private is not 64 hex digits");
    fresh();
    replace_line(path, "kind", "public");
    refused("kind and private field disagree");
    fresh();
    std::ofstream(path, std::ios::app) << "comment hello\n";
    refused("unknown field");
    fresh();
    std::ofstream(path, std::ios::app) << "public " << to_hex(keys().school.public_key) << "\n";
    refused("repeated");
    fresh();
    std::ofstream(path, std::ios::trunc) << "sonde-key v2\nkind private\n";
    refused("first line");
    fresh();
    std::ofstream(path, std::ios::trunc) << std::string(5000, 'x');
    refused("too large");

    CHECK_FALSE(load_key_pair(dir.file("missing.key"), kp, &error));
    CHECK_FALSE(load_key_pair(dir.path.string(), kp, &error));  // a directory
    fresh();
    fs::create_symlink(path, dir.file("link.key"));
    CHECK_FALSE(load_key_pair(dir.file("link.key"), kp, &error));  // O_NOFOLLOW
}

TEST_CASE("saving refuses an inconsistent key pair", "[keys]") {
    TempDir dir;
    sonde::crypto::KeyPair bad = keys().school;
    bad.public_key = keys().stranger.public_key;
    std::string error;
    CHECK_FALSE(save_key_pair(dir.file("bad.key"), bad, false, &error));
    CHECK_FALSE(fs::exists(dir.file("bad.key")));
}
