#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "host_process.hpp"
#include "platform/files.hpp"
#include "roles.hpp"
#include "shm/segment.hpp"
#include "temp_dir.hpp"

using namespace sonde;

namespace {
std::vector<std::string> entries(const std::string &dir) {
    std::vector<std::string> out;
    for (const auto &e : std::filesystem::directory_iterator(dir))
        if (const std::string name = e.path().filename().string(); name[0] != '.')
            out.push_back(name);
    return out;
}
void patch(const std::string &path, size_t offset, const void *bytes, size_t n) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    REQUIRE(f.is_open());
    f.seekp(std::streamoff(offset));
    f.write(static_cast<const char *>(bytes), std::streamsize(n));
    REQUIRE(f.good());
}
}  // namespace

TEST_CASE("a new segment is fully initialised, private and within budget", "[segment]") {
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path;
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(r.mapping.valid());
    CHECK(r.created);
    const shm::Header &h = r.mapping.header();
    CHECK(h.magic == shm::kMagic);
    CHECK(h.ready.load() == 1);
    CHECK(h.schema_hash == catalog::kSchemaHash);
    CHECK(h.creator_pid == ::getpid());
    CHECK(std::string(h.base_id) == "0310001A");
    CHECK(h.generation != 0);
    CHECK(shm::validate(h, r.mapping.size()).empty());
    CHECK(r.mapping.size() <= 6u * 1024 * 1024);  // the budget in shm/layout.hpp
    CHECK(r.mapping.size() == shm::kDefaultGeometry.size);
    CHECK(h.user_stated_capacity == shm::kDefaultUserCapacity);
    CHECK(h.student_stated_capacity == shm::kDefaultStudentCapacity);
    CHECK(h.user_capacity == shm::table_slots(shm::kDefaultUserCapacity));
    CHECK(h.student_capacity == shm::table_slots(shm::kDefaultStudentCapacity));
#ifndef _WIN32  // Windows: the folder's ACL protects the file (docs/windows.md)
    struct stat st {};
    REQUIRE(::stat(shm::segment_path(dir, "0310001A").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
#endif
    std::string names;
    for (const std::string &e : entries(dir)) names += e + " ";
    INFO(names);
    CHECK(entries(dir).size() == 1);  // no temp file left behind

    // A second open attaches to the same segment.
    shm::OpenResult again = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(again.mapping.valid());
    CHECK_FALSE(again.created);
    CHECK(again.mapping.header().generation == h.generation);
}

TEST_CASE("a segment is created with the requested capacities and keeps them", "[segment]") {
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path;
    const shm::Capacities caps{1000, 300};
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1, caps);
    REQUIRE(r.mapping.valid());
    CHECK(r.created);
    const shm::Header &h = r.mapping.header();
    CHECK(h.user_stated_capacity == 1000);
    CHECK(h.student_stated_capacity == 300);
    CHECK(h.user_capacity == 2048);
    CHECK(h.student_capacity == 1024);
    CHECK(r.mapping.size() == shm::geometry_for(caps).size);
    CHECK(shm::validate(h, r.mapping.size()).empty());
    CHECK(shm::attach_segment(shm::segment_path(dir, "0310001A")).mapping.valid());

    // Other capacities later (the operator changed the configuration): the live segment and its
    // counts are kept; the new capacities apply to the next segment created.
    shm::OpenResult again = shm::open_segment(dir, "0310001A", 1, shm::Capacities{});
    REQUIRE(again.mapping.valid());
    CHECK_FALSE(again.created);
    CHECK(again.replaced == 0);
    CHECK(again.mapping.header().user_stated_capacity == 1000);
    CHECK(again.mapping.header().generation == h.generation);

    // Out of range: refused, nothing created.
    const TempDir other_tmp("sonde-seg-");
    const std::string &other = other_tmp.path;
    for (const shm::Capacities bad : {shm::Capacities{0, 300}, shm::Capacities{1000, 0},
                                      shm::Capacities{shm::kMaxUserCapacity + 1, 300},
                                      shm::Capacities{1000, shm::kMaxStudentCapacity + 1}}) {
        shm::OpenResult refused = shm::open_segment(other, "0310001A", 1, bad);
        CHECK_FALSE(refused.mapping.valid());
        CHECK(refused.error.find("capacities out of range") != std::string::npos);
    }
    CHECK(entries(other).empty());
}

TEST_CASE("validation checks slots against stated capacities", "[segment]") {
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path;
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(r.mapping.valid());
    shm::Header &h = r.mapping.header();
    // Changes a field, reseals the header checksum (as a buggy or hostile writer could), and
    // says what validation thinks of it.
    auto resealed = [&](auto change) {
        change();
        h.header_checksum = shm::header_checksum(h);
        return shm::validate(h, r.mapping.size());
    };
    const uint32_t stated = h.user_stated_capacity;
    CHECK(resealed([&] { h.user_stated_capacity = stated / 2; }).find("do not match") !=
          std::string::npos);
    CHECK(resealed([&] { h.user_stated_capacity = 0; }).find("out of range") != std::string::npos);
    CHECK(resealed([&] {
              h.user_stated_capacity = shm::kMaxUserCapacity + 1;
          }).find("out of range") != std::string::npos);
    CHECK(resealed([&] { h.user_stated_capacity = stated; }).empty());
    const uint32_t students = h.student_stated_capacity;
    CHECK(resealed([&] { h.student_stated_capacity = students * 2; }).find("do not match") !=
          std::string::npos);
    CHECK(resealed([&] { h.student_stated_capacity = students; }).empty());
}

TEST_CASE("bad segments are set aside, never written, and replaced", "[segment]") {
    struct Case {
        const char *name;
        size_t offset;
        uint32_t value;
    };
    const Case cases[] = {
        {"incompatible layout version", offsetof(shm::Header, layout_version), 999},
        {"other byte order", offsetof(shm::Header, byte_order), 0x04030201},
        {"corrupt section table", offsetof(shm::Header, row_count), 7},
        {"never finished initialising", offsetof(shm::Header, ready), 0},
        {"bad magic", 0, 0xdeadbeef},
    };
    for (const Case &c : cases) {
        SECTION(c.name) {
            const TempDir dir_tmp("sonde-seg-");
            const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
            uint64_t old_generation;
            {
                shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
                REQUIRE(r.mapping.valid());
                old_generation = r.mapping.header().generation;
            }
            patch(path, c.offset, &c.value, sizeof c.value);
            std::string bytes_before;
            {  // closed before the open: Windows cannot rename a file open without share-delete
                std::ifstream before(path, std::ios::binary);
                bytes_before.assign(std::istreambuf_iterator<char>(before), {});
            }

            shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
            INFO(r.error);
            REQUIRE(r.mapping.valid());
            CHECK(r.created);
            CHECK(r.replaced == 1);
            CHECK(r.mapping.header().generation != old_generation);
            // The bad one is kept, byte for byte, for inspection.
            std::string aside;
            for (const std::string &e : entries(dir))
                if (e.find(".bad.") != std::string::npos) aside = dir + "/" + e;
            REQUIRE_FALSE(aside.empty());
            std::ifstream after(aside, std::ios::binary);
            CHECK(std::string((std::istreambuf_iterator<char>(after)), {}) == bytes_before);
        }
    }
}

TEST_CASE("garbage and truncated files are replaced too", "[segment]") {
    for (size_t size : {size_t(0), size_t(100), size_t(5000)}) {
        const TempDir dir_tmp("sonde-seg-");
        const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
        {
            std::ofstream f(path, std::ios::binary);
            for (size_t i = 0; i < size; ++i) f.put(char(i * 131 + 7));
        }
#ifndef _WIN32
        ::chmod(path.c_str(), 0600);  // the mode a segment has: only the content is wrong
#endif
        shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
        INFO(size);
        REQUIRE(r.mapping.valid());
        CHECK(r.replaced == 1);
        std::string err;
        CHECK_FALSE(shm::attach_segment(path + ".missing").mapping.valid());
    }
}

TEST_CASE("read-only attach refuses what it cannot trust", "[segment]") {
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
    {
        std::ofstream f(path, std::ios::binary);
        f << std::string(8192, 'x');
    }
    shm::OpenResult r = shm::attach_segment(path);
    CHECK_FALSE(r.mapping.valid());
    CHECK(r.error.find("bad magic") != std::string::npos);
}

namespace {

// A creator (`--role segment-create DIR`): waits for "go" on stdin, opens the segment and
// prints its generation (0 if it got none).
int segment_create(const std::vector<std::string> &args) {
    if (args.size() != 1) return 2;
    std::printf("ready\n");
    std::fflush(stdout);
    char line[16];
    if (!std::fgets(line, sizeof line, stdin)) return 3;
    shm::OpenResult r = shm::open_segment(args[0], "0310001A", 1);
    std::printf("%llu\n",
                (unsigned long long)(r.mapping.valid() ? r.mapping.header().generation : 0));
    std::fflush(stdout);
    return 0;
}
SONDE_TEST_ROLE("segment-create", segment_create);

}  // namespace

TEST_CASE("concurrent creators agree on one segment", "[segment]") {
    // Eight processes (this program again, in a role) told to go at once.
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path;
    constexpr int kProcs = 8;
    std::vector<std::unique_ptr<test::HostProcess>> procs;
    std::string line;
    for (int i = 0; i < kProcs; ++i) {
        procs.push_back(std::make_unique<test::HostProcess>(
            test::self_path(), std::vector<std::string>{"--role", "segment-create", dir}));
        REQUIRE(procs.back()->started());
        REQUIRE(procs.back()->read_line(line));
        REQUIRE(line == "ready");
    }
    for (auto &p : procs) REQUIRE(p->send_line("go"));
    std::vector<uint64_t> gens;
    for (auto &p : procs) {
        REQUIRE(p->read_line(line));
        gens.push_back(std::strtoull(line.c_str(), nullptr, 10));
        CHECK(p->wait() == 0);
    }
    REQUIRE(gens.size() == kProcs);
    for (uint64_t x : gens) CHECK(x == gens[0]);
    CHECK(gens[0] != 0);
    CHECK(entries(dir).size() == 1);
}

#include "shm/latch.hpp"

TEST_CASE("latches round trip and refuse other windows", "[segment][latch]") {
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path;
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(r.mapping.valid());
    std::vector<int64_t> values(shm::kHourCells), back(shm::kHourCells);
    for (size_t i = 0; i < values.size(); ++i) values[i] = int64_t(i * 3 + 1);
    const uint64_t hour = 498753;
    shm::LatchRef slot = shm::latch_slot(r.mapping, shm::LatchKind::Hour, hour);
    shm::LatchCopy meta;
    CHECK_FALSE(shm::latch_read(slot, int64_t(hour), meta, back.data()));  // empty
    shm::latch_write(slot, int64_t(hour), 1795510800, 1795510802, values.data());
    REQUIRE(shm::latch_read(slot, int64_t(hour), meta, back.data()));
    CHECK(back == values);
    CHECK(meta.window_start == 1795510800);
    CHECK(meta.taken == 1795510802);
    // The slot of the same ring position 8 days later is another window.
    CHECK_FALSE(shm::latch_read(
        shm::latch_slot(r.mapping, shm::LatchKind::Hour, hour + shm::kHourLatchSlots),
        int64_t(hour + shm::kHourLatchSlots), meta, back.data()));
    // A writer that died mid-copy leaves the sequence odd: readers refuse, the next write heals.
    slot.head->seq.store(slot.head->seq.load() + 1);
    CHECK_FALSE(shm::latch_read(slot, int64_t(hour), meta, back.data()));
    shm::latch_write(slot, int64_t(hour), 1795510800, 1795510900, values.data());
    CHECK(shm::latch_read(slot, int64_t(hour), meta, back.data()));
}

TEST_CASE("hourly latch cells sum the levels of each measure", "[segment][latch]") {
    std::vector<int64_t> full(catalog::kCounterCells, 0), hour(shm::kHourCells);
    full[catalog::kEvents[SONDE_EV_MESSAGE_SENT].first + 0] = 2;
    full[catalog::kEvents[SONDE_EV_MESSAGE_SENT].first + 5] = 3;
    full[catalog::connection_cell(SONDE_PROFILE_TEACHER, SONDE_MEDIUM_CLIENT,
                                  SONDE_ACCESS_DIRECT)] = 7;
    full[catalog::kTallies[SONDE_TALLY_LATE_ARRIVAL].first + 2] = 4;
    shm::hour_cells_from(full.data(), hour.data());
    CHECK(hour[catalog::kConnectionCells + SONDE_EV_MESSAGE_SENT - 1] == 5);
    CHECK(hour[catalog::connection_cell(SONDE_PROFILE_TEACHER, SONDE_MEDIUM_CLIENT,
                                        SONDE_ACCESS_DIRECT)] == 7);
    CHECK(hour[catalog::kConnectionCells + catalog::kEventCount + SONDE_TALLY_LATE_ARRIVAL - 1] ==
          4);
}

// Identity of files (issue 10, docs/windows.md, "A file renamed under an open handle"): a
// segment is created under a temporary name and renamed into place, and the watcher compares
// the file its handle holds with the file at the path every second. Under Wine a handle opened
// before the rename reported volume 0 afterwards, so the file looked replaced.
TEST_CASE("a file renamed into place is, through a handle opened before, the file at its path",
          "[segment][platform]") {
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path, tmp = dir + "/f.init", path = dir + "/f";
    platform::File file = platform::File::open(
        tmp, platform::kRead | platform::kWrite | platform::kCreate | platform::kExclusive);
    REQUIRE(file);
    REQUIRE(file.allocate(65536) == 0);
    REQUIRE(platform::rename_new(tmp, path));
    platform::FileInfo held, at_path, reopened;
    REQUIRE(file.info(held));
    REQUIRE(platform::path_info(path, at_path));
    CHECK(held.same_file(at_path));
    platform::File again = platform::File::open(path, platform::kRead);
    REQUIRE(again);
    REQUIRE(again.info(reopened));
    CHECK(reopened.same_file(held));
    // Moved aside through its name once more (what an operator's rename does): still the same
    // file through either handle, and no longer the file at the path.
    REQUIRE(platform::rename_new(path, path + ".aside"));
    platform::FileInfo moved, aside;
    REQUIRE(file.info(moved));
    REQUIRE(platform::path_info(path + ".aside", aside));
    CHECK(moved.same_file(aside));
    CHECK(moved.same_file(held));
    CHECK_FALSE(platform::path_info(path, at_path));
}

namespace {
// Takes the segment's name away as an operator would: unlink on POSIX; on Windows (and Wine),
// where a mapped file's name stays until its last view closes, a rename aside.
bool take_name_away(const std::string &path) {
#if defined(_WIN32)
    return platform::rename_new(path, path + ".deleted");
#else
    return ::unlink(path.c_str()) == 0;
#endif
}
}  // namespace

TEST_CASE("the process that published a segment finds it at its path", "[segment]") {
    // docs/architecture.md: the watcher acts only on a file deleted, truncated or replaced; the
    // segment a process created, or published again from its memory, is none of these.
    const TempDir dir_tmp("sonde-seg-");
    const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
    shm::OpenResult created = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(created.mapping.valid());
    REQUIRE(created.created);
    CHECK(shm::check_file(created.mapping) == shm::FileState::Ok);
    shm::OpenResult attached = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(attached.mapping.valid());
    CHECK(shm::check_file(attached.mapping) == shm::FileState::Ok);

    REQUIRE(take_name_away(path));
    CHECK(shm::check_file(created.mapping) == shm::FileState::Deleted);
    std::vector<uint64_t> copy;
    shm::OpenResult published = shm::republish(created.mapping, &copy);
    REQUIRE(published.mapping.valid());
    REQUIRE(published.created);
    CHECK(published.mapping.layout().generation == created.mapping.layout().generation);
    CHECK(shm::check_file(published.mapping) == shm::FileState::Ok);
    // Another process, still on the old file, moves too: on POSIX its file has no name left;
    // on Windows it lives on under its new name, and the path names another file.
#if defined(_WIN32)
    CHECK(shm::check_file(attached.mapping) == shm::FileState::Replaced);
#else
    CHECK(shm::check_file(attached.mapping) == shm::FileState::Deleted);
#endif
}
