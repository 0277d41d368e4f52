#pragma once
// Memory shared between the driver and the host processes it forks: an anonymous MAP_SHARED
// mapping created before fork(), so every child writes its part of the oracle where the
// driver can read it, even after the child was killed.

#include <cstddef>
#include <utility>

namespace sonde::shim {

class SharedArena {
  public:
    static SharedArena create(size_t bytes);  // zero-filled; throws std::system_error
    SharedArena() = default;
    SharedArena(SharedArena &&o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(o.size_) {}
    SharedArena &operator=(SharedArena &&o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        return *this;
    }
    SharedArena(const SharedArena &) = delete;
    SharedArena &operator=(const SharedArena &) = delete;
    ~SharedArena();

    char *data() const { return static_cast<char *>(data_); }
    size_t size() const { return size_; }

  private:
    void *data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace sonde::shim
