#include "shared_arena.hpp"

#include <cerrno>
#include <system_error>

#include "platform/files.hpp"
#include "platform/mapping.hpp"

namespace sonde::shim {
namespace {

[[noreturn]] void fail(const std::string &what, const std::string &path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path);
}

}  // namespace

SharedArena SharedArena::create(const std::string &path, size_t bytes) {
    using namespace platform;
    File file = File::open(path, kRead | kWrite | kCreate | kExclusive, 0600);
    if (!file) fail("create arena", path);
    SharedArena a;
    a.owned_path_ = path;  // from here on, deleted on failure too
    if (const int e = file.allocate(bytes); e != 0) {
        errno = e;
        fail("allocate arena", path);
    }
    a.data_ = map_file(file, bytes, true);
    if (!a.data_) fail("map arena", path);
    a.size_ = bytes;
    return a;
}

SharedArena SharedArena::open(const std::string &path) {
    using namespace platform;
    File file = File::open(path, kRead | kWrite);
    FileInfo info;
    if (!file || !file.info(info)) fail("open arena", path);
    SharedArena a;
    a.data_ = map_file(file, info.size, true);
    if (!a.data_) fail("map arena", path);
    a.size_ = size_t(info.size);
    return a;
}

SharedArena::~SharedArena() {
    if (data_) platform::unmap(data_, size_);
    if (!owned_path_.empty()) platform::remove_file(owned_path_);
}

}  // namespace sonde::shim
