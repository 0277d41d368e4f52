#pragma once
// Opening the segment of a base: create it fully initialised and publish it atomically, or
// attach to the published one after checking it is compatible; set aside anything else.

#include <cstdint>
#include <string>
#include <vector>

#include "platform/files.hpp"
#include "shm/layout.hpp"

namespace sonde::shm {

// ReadWrite: the plugin and the shipper. ReadOnly: a live read-only mapping (tests, the shim's
// oracle). Copy: the file is read once into private memory (the operator tool): nothing another
// process does to the file afterwards (truncating it, rewriting its header) can reach the
// reader.
enum class Access { ReadWrite, ReadOnly, Copy };

// The default directory of segments: $SONDE_SEGMENT_DIR if set, else /var/lib/sonde/segments.
// sonde_open_params.shm_dir overrides it per base.
inline constexpr const char *kDefaultSegmentDir = "/var/lib/sonde/segments";
std::string default_segment_dir();

// The validated geometry of a segment, copied into process memory when it is mapped: every
// offset and size the plugin, the shipper and the readers use comes from here, never again
// from the shared header, so a stray write into the header cannot steer pointer arithmetic.
struct Layout {
    Geometry g{};
    uint32_t row_count = 0, user_slots = 0, student_slots = 0;
    uint32_t users_capacity = 0, students_capacity = 0;  // stated
    uint64_t generation = 0;
    int64_t creator_start_unix_ns = 0;
    uint32_t product = 0;
    char base_id[16] = {};
};

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
    const Layout &layout() const noexcept { return layout_; }
    const platform::File &file() const noexcept { return file_; }
    // Hands the file over (the mapping stays); the caller closes it.
    platform::File take_file() noexcept { return std::move(file_); }
    const std::string &path() const noexcept { return path_; }
    // Releases ownership without unmapping (the plugin keeps segments mapped for the process).
    void leak() noexcept;
    // Unmaps and closes now.
    void reset() noexcept;
    // Keeps the memory mapped and the descriptor open for the life of the process, but lets
    // go of them (the plugin's replaced segments: a straggling writer still lands on mapped
    // memory, and the SIGBUS guard can still extend the file).
    void abandon() noexcept;

    // Accessors into the sections, from the validated layout (process memory).
    Lease *leases() const noexcept { return at<Lease>(layout_.g.leases_offset); }
    std::atomic<int64_t> *row(uint32_t i) const noexcept {
        return at<std::atomic<int64_t>>(layout_.g.rows_offset + uint64_t(i) * layout_.g.row_stride);
    }
    std::atomic<int64_t> *shared_row() const noexcept {
        return at<std::atomic<int64_t>>(layout_.g.shared_row_offset);
    }
    std::atomic<uint64_t> *gauges() const noexcept {
        return at<std::atomic<uint64_t>>(layout_.g.gauges_offset);
    }
    UserEntry *users() const noexcept { return at<UserEntry>(layout_.g.users_offset); }
    StudentEntry *students() const noexcept { return at<StudentEntry>(layout_.g.students_offset); }
    std::atomic<uint64_t> *diag() const noexcept {
        return at<std::atomic<uint64_t>>(layout_.g.diag_offset);
    }
    LevelLabel *levels() const noexcept { return at<LevelLabel>(layout_.g.levels_offset); }

  private:
    friend struct MappingFactory;
    void *base_ = nullptr;
    uint64_t size_ = 0;
    platform::File file_;
    bool anonymous_ = false;  // Access::Copy: private memory, no file
    std::string path_;
    Layout layout_;
};

struct OpenResult {
    Mapping mapping;
    bool created = false;
    uint32_t replaced = 0;  // incompatible or corrupt segments set aside on the way
    bool rebooted = false;  // first attach since a reboot (boot id changed)
    uint32_t folded = 0;    // leases of dead processes taken back at attach (nobody attached)
    bool refused = false;   // the path holds something this process may not use or set aside
    std::string error;      // set when !mapping.valid()
};

// Whether `dir` may hold segments: a directory (not a symlink) owned by this user that no other
// user can write, or a sticky directory such as /dev/shm (others cannot remove or rename our
// files there, and a file they squat at a segment's path is refused). Empty if fine, else why.
// With `create`, a missing directory is created with mode 0700 (and its parents with 0755).
std::string check_directory(const std::string &dir, bool create);

// Where a bad segment at `path` is set aside: "<path>.bad.<unix time>.<pid>".
std::string aside_path(const std::string &path);

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

// Writes the segment's dirty pages to its file (msync) and records when (the shipper calls it
// at each snapshot: a power cut then loses at most what was counted since).
bool flush(const Mapping &m, int64_t now_unix) noexcept;

// What became of the file behind a live mapping (the watcher checks it every second).
enum class FileState { Ok, Deleted, Truncated, Replaced };
FileState check_file(const Mapping &m) noexcept;

// The file of a live mapping was deleted: publishes a copy of its current contents (same
// generation) at the path, or attaches to the copy another process published first. When this
// process published it, `copy` (if given) receives the words it copied, else it is emptied.
// Every process then moves its writers over (free_copied_leases, merge_marks); the publisher,
// once no process records in the old mapping any more, adds what was recorded there after the
// copy (merge_after_copy).
OpenResult republish(const Mapping &live, std::vector<uint64_t> *copy = nullptr);

// SIGBUS guard. Every file mapping of a segment in this process is registered; the plugin
// installs a SIGBUS handler (chained to any previous one) that, for a fault inside a
// registered mapping (its file was truncated under it), extends the file back to its size with
// ftruncate (async-signal-safe) and returns, so the faulting store completes on a zero page
// instead of killing the host; the mapping is flagged and the watcher then sets the file aside
// and starts a new generation (the truncated pages' values are gone).
void install_sigbus_guard() noexcept;
// True once if a fault was absorbed in the mapping since the last call.
bool take_sigbus_flag(const Mapping &m) noexcept;

// After a republish. The rows `rows` that this process (identity `self`) had leased in the
// old mapping when the copy was taken are leased to it in the copy too: they are freed there
// (their values stay; what was recorded in them since comes with merge_after_copy).
uint32_t free_copied_leases(const Mapping &to, const std::vector<uint32_t> &rows,
                            uint64_t self) noexcept;
// Distinct users and gauges recorded in `from` after the copy, merged into `to`: a union and a
// latest-wins, so any process may run it, any number of times.
void merge_marks(const Mapping &from, const Mapping &to) noexcept;
// Run once, by the publisher, when no process records in `from` any more: adds to `to` what
// was recorded in `from` after `copy` was taken (republish): every counter cell's gain, over all
// rows and the shared row, to `to`'s shared row; every student tally's gain to the student's
// entry; then merge_marks. Nothing recorded in the old mapping is lost, nothing counted twice.
void merge_after_copy(const Mapping &from, const std::vector<uint64_t> &copy,
                      const Mapping &to) noexcept;

}  // namespace sonde::shm
