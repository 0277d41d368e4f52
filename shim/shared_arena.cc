#include "shared_arena.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>

namespace sonde::shim {

SharedArena SharedArena::create(size_t bytes) {
    SharedArena a;
    void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap shared arena");
    a.data_ = p;
    a.size_ = bytes;
    return a;
}

SharedArena::~SharedArena() {
    if (data_) ::munmap(data_, size_);
}

}  // namespace sonde::shim
