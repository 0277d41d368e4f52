#pragma once
// Opening the segment of a base: create it fully initialised and publish it atomically, or
// attach to the published one after checking it is compatible; set aside anything else.

#include <cstdint>
#include <string>

#include "shm/layout.hpp"

namespace sonde::shm {

enum class Access { ReadWrite, ReadOnly };

// A mapped segment. Movable, unmaps on destruction (the plugin keeps its mappings for the
// life of the process; tools and tests map and unmap freely).
class Mapping {
  public:
    Mapping() = default;
    Mapping(Mapping &&other) noexcept;
    Mapping &operator=(Mapping &&other) noexcept;
    Mapping(const Mapping &) = delete;
    Mapping &operator=(const Mapping &) = delete;
    ~Mapping();

    bool valid() const noexcept { return base_ != nullptr; }
    Header &header() const noexcept { return *static_cast<Header *>(base_); }
    template <typename T>
    T *at(uint64_t offset) const noexcept {
        return reinterpret_cast<T *>(static_cast<char *>(base_) + offset);
    }
    uint64_t size() const noexcept { return size_; }
    int fd() const noexcept { return fd_; }
    const std::string &path() const noexcept { return path_; }
    // Releases ownership without unmapping (the plugin keeps segments mapped for the process).
    void leak() noexcept;
    // Unmaps and closes now.
    void reset() noexcept;

    // Convenience accessors into the sections recorded in the header.
    Lease *leases() const noexcept { return at<Lease>(header().leases_offset); }
    std::atomic<int64_t> *row(uint32_t i) const noexcept {
        return at<std::atomic<int64_t>>(header().rows_offset + i * header().row_stride);
    }
    std::atomic<int64_t> *shared_row() const noexcept {
        return at<std::atomic<int64_t>>(header().shared_row_offset);
    }
    std::atomic<uint64_t> *gauges() const noexcept {
        return at<std::atomic<uint64_t>>(header().gauges_offset);
    }
    UserEntry *users() const noexcept { return at<UserEntry>(header().users_offset); }
    StudentEntry *students() const noexcept { return at<StudentEntry>(header().students_offset); }
    std::atomic<uint64_t> *diag() const noexcept {
        return at<std::atomic<uint64_t>>(header().diag_offset);
    }
    LevelLabel *levels() const noexcept { return at<LevelLabel>(header().levels_offset); }

  private:
    friend struct MappingFactory;
    void *base_ = nullptr;
    uint64_t size_ = 0;
    int fd_ = -1;
    std::string path_;
};

struct OpenResult {
    Mapping mapping;
    bool created = false;
    uint32_t replaced = 0;  // incompatible or corrupt segments set aside on the way
    std::string error;      // set when !mapping.valid()
};

// "<shm_dir>/sonde.<base_id>".
std::string segment_path(const std::string &shm_dir, const std::string &base_id);

// Read-write open used by the plugin. Never writes to a segment that fails validation: such a
// segment is renamed to "<path>.bad.<unix time>" for inspection and a fresh one is created.
// A segment is created with `caps` (the stated capacities of its tables); an existing valid
// segment is attached whatever its capacities: they change only when a segment is created.
OpenResult open_segment(const std::string &shm_dir, const std::string &base_id, uint32_t product,
                        const Capacities &caps);
// The same with the default capacities.
OpenResult open_segment(const std::string &shm_dir, const std::string &base_id, uint32_t product);

// Read-only attach used by the operator tool and the tests; never creates or modifies.
OpenResult attach_segment(const std::string &path, Access access = Access::ReadOnly);

// Why a mapped header is unusable, or empty if it is fine.
std::string validate(const Header &h, uint64_t file_size);

}  // namespace sonde::shm
