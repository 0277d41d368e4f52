#pragma once
// Memory shared between the driver and its host processes: a file-backed shared mapping (the
// platform layer's, as for segments: mmap on POSIX, an unnamed section over the file on
// Windows). The driver creates the file at full size (zero-filled) in its scratch folder
// before it starts any host; each host maps it by path and writes its part of the oracle
// there, where the driver reads it, even after the host was killed.

#include <cstddef>
#include <string>
#include <utility>

namespace sonde::shim {

class SharedArena {
  public:
    // Creates `path` (which must not exist) at `bytes`, zero-filled, and maps it; the driver's
    // arena deletes its file when it goes. Throws std::system_error.
    static SharedArena create(const std::string &path, size_t bytes);
    // Maps an existing arena (a host). Throws std::system_error.
    static SharedArena open(const std::string &path);
    SharedArena() = default;
    SharedArena(SharedArena &&o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(o.size_), owned_path_(o.owned_path_) {
        o.owned_path_.clear();
    }
    SharedArena &operator=(SharedArena &&o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        std::swap(owned_path_, o.owned_path_);
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
    std::string owned_path_;  // deleted with the mapping (the driver's)
};

}  // namespace sonde::shim
