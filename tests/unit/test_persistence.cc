// Issue 7: segments as files in a persistent directory that survive a reboot, and the faults a
// fault-injection run found (squatted paths, FIFOs, header writes, truncation, deletion).

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/process.hpp"
#include "core/tables.hpp"
#include "reader/view.hpp"
#include "shm/segment.hpp"
#include "temp_dir.hpp"

using namespace sonde;

namespace {

struct BootIdOverride {
    explicit BootIdOverride(const char *id) { ::setenv("SONDE_BOOT_ID", id, 1); }
    ~BootIdOverride() { ::unsetenv("SONDE_BOOT_ID"); }
};

// Runs `body` in a child; true if it exited with 0 (a crash shows up as a signal).
template <typename Body>
bool in_child(Body body, int *signal_out = nullptr) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body() ? 0 : 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (signal_out) *signal_out = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("segments are created at full size, never sparse", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path;
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(r.mapping.valid());
    struct stat st {};
    REQUIRE(::stat(shm::segment_path(dir, "0310001A").c_str(), &st) == 0);
    CHECK(uint64_t(st.st_size) == r.mapping.size());
    // Every block allocated: a full disk fails at creation, not with a SIGBUS in a host.
    CHECK(uint64_t(st.st_blocks) * 512 >= r.mapping.size());
}

TEST_CASE("the segment directory must be private to the server's account", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path;
    CHECK(shm::check_directory(dir, false).empty());
    ::chmod(dir.c_str(), 0770);
    CHECK_FALSE(shm::check_directory(dir, false).empty());
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    CHECK_FALSE(r.mapping.valid());
    CHECK(r.refused);
    ::chmod(dir.c_str(), 0700);
    // A symlink in place of the directory is refused.
    const std::string link = dir + "-link";
    REQUIRE(::symlink(dir.c_str(), link.c_str()) == 0);
    CHECK_FALSE(shm::check_directory(link, false).empty());
    ::unlink(link.c_str());
    // A missing directory is created, private.
    const std::string fresh = dir + "/var/lib/sonde/segments";
    CHECK(shm::check_directory(fresh, true).empty());
    struct stat st {};
    REQUIRE(::stat(fresh.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    // A sticky directory shared by everyone (/dev/shm) stays possible.
    const std::string sticky = dir + "/shm";
    REQUIRE(::mkdir(sticky.c_str(), 0777) == 0);
    ::chmod(sticky.c_str(), 01777);
    CHECK(shm::check_directory(sticky, false).empty());
}

TEST_CASE("a FIFO at the segment path never blocks, and is set aside", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    // Readers (sonde-ctl status and dump) do not hang on it: they say what it is.
    int sig = 0;
    CHECK(in_child(
        [&] {
            ::alarm(60);  // hang guard
            shm::OpenResult a = shm::attach_segment(path);
            shm::OpenResult c = shm::attach_segment(path, shm::Access::Copy);
            return !a.mapping.valid() && !c.mapping.valid() &&
                   a.error.find("not a regular file") != std::string::npos;
        },
        &sig));
    CHECK(sig == 0);
    // The plugin's open sets it aside in its own directory and creates the segment.
    CHECK(in_child([&] {
        ::alarm(60);  // hang guard
        shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
        return r.mapping.valid() && r.created && r.replaced == 1;
    }));
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
}

TEST_CASE("something squatted in a sticky directory is refused and retried", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string dir = dir_tmp.path + "/shm", path = shm::segment_path(dir, "0310001A");
    REQUIRE(::mkdir(dir.c_str(), 0777) == 0);
    ::chmod(dir.c_str(), 01777);
    // In a sticky directory another user's file cannot be moved; a FIFO stands for it here.
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    CHECK_FALSE(r.mapping.valid());
    CHECK(r.refused);
    CHECK(r.error.find("refusing") != std::string::npos);
    ::unlink(path.c_str());  // the squatter goes: the next attempt succeeds
    shm::OpenResult again = shm::open_segment(dir, "0310001A", 1);
    CHECK(again.mapping.valid());
}

TEST_CASE("after a reboot every lease is folded, even one whose pid looks alive",
          "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path;
    uint64_t generation = 0;
    {
        BootIdOverride boot("boot-1");
        shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
        REQUIRE(r.mapping.valid());
        generation = r.mapping.layout().generation;
        // Before the reboot a process leased row 3 and counted 42. After the reboot its
        // (pid, start time) is taken by a live process: here, ours.
        r.mapping.leases()[3].owner.store(self_identity());
        r.mapping.row(3)[0].store(42);
        CHECK(r.mapping.header().boots.load() == 1);
    }  // every process gone: no lock held on the file
    BootIdOverride boot("boot-2");
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(r.mapping.valid());
    CHECK_FALSE(r.created);
    CHECK(r.mapping.layout().generation == generation);  // same generation: counting goes on
    CHECK(r.rebooted);
    CHECK(r.folded == 1);
    CHECK(r.mapping.leases()[3].owner.load() == 0);
    CHECK(r.mapping.row(3)[0].load() == 42);  // values stay: nothing lost, nothing moved
    CHECK(r.mapping.header().boots.load() == 2);
    CHECK(r.mapping.diag()[uint32_t(shm::Diag::SegmentReboots)].load() == 1);
    CHECK(r.mapping.diag()[uint32_t(shm::Diag::RowsReclaimed)].load() == 1);
    // While it is attached, another process's open does not fold anything.
    r.mapping.leases()[5].owner.store(self_identity());
    shm::OpenResult second = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(second.mapping.valid());
    CHECK(second.folded == 0);
    CHECK(r.mapping.leases()[5].owner.load() == self_identity());
}

TEST_CASE("readers use the geometry they validated, not the header's later contents",
          "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
    shm::OpenResult w = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(w.mapping.valid());
    w.mapping.row(0)[5].store(7);
    std::string error;
    auto view = reader::SegmentView::open(path, &error);
    REQUIRE(view);
    auto copy = reader::SegmentView::open(path, &error, shm::Access::Copy);
    REQUIRE(copy);
    // One write into the header: absurd offsets and counts.
    shm::Header &h = w.mapping.header();
    h.rows_offset = uint64_t(1) << 40;
    h.row_count = 0x7fffffff;
    h.user_capacity = 0x7fffffff;
    h.student_capacity = 0x7fffffff;
    h.diag_offset = uint64_t(1) << 41;
    CHECK(view->cell(5) == 7);
    CHECK(copy->cell(5) == 7);
    CHECK(view->users_used() == 0);
    CHECK(view->rows_leased() == 0);
    CHECK(view->diag(shm::Diag::RowsReclaimed) == 0);
}

TEST_CASE("a private copy is immune to a truncation of the file", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
    shm::OpenResult w = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(w.mapping.valid());
    w.mapping.row(47)[100].store(9);
    std::string error;
    auto copy = reader::SegmentView::open(path, &error, shm::Access::Copy);
    REQUIRE(copy);
    REQUIRE(::truncate(path.c_str(), 4096) == 0);
    CHECK(copy->cell(100) == 9);
    CHECK(shm::check_file(w.mapping) == shm::FileState::Truncated);
}

TEST_CASE("a store into a truncated segment does not kill the process", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
    int sig = 0;
    CHECK(in_child(
        [&] {
            shm::install_sigbus_guard();
            shm::OpenResult w = shm::open_segment(dir, "0310001A", 1);
            if (!w.mapping.valid()) return false;
            if (::truncate(path.c_str(), 0) != 0) return false;
            w.mapping.row(10)[3].fetch_add(1);  // SIGBUS without the guard
            w.mapping.users()[100].key.store(5);
            return shm::take_sigbus_flag(w.mapping) && !shm::take_sigbus_flag(w.mapping) &&
                   w.mapping.row(10)[3].load() == 1;
        },
        &sig));
    CHECK(sig == 0);
    // A fault elsewhere still kills as before (the guard chains to the default action).
    CHECK_FALSE(in_child(
        [&] {
            shm::install_sigbus_guard();
            const std::string other = dir + "/other";
            int fd = ::open(other.c_str(), O_RDWR | O_CREAT, 0600);
            if (fd < 0 || ::ftruncate(fd, 8192) != 0) return true;
            auto *p = static_cast<volatile char *>(
                ::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
            if (::ftruncate(fd, 0) != 0) return true;
            p[4096] = 1;
            return true;
        },
        &sig));
    CHECK(sig == SIGBUS);
}

TEST_CASE("a deleted segment file is published again without losing counts", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path, path = shm::segment_path(dir, "0310001A");
    shm::OpenResult a = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(a.mapping.valid());
    const uint64_t self = self_identity();
    a.mapping.leases()[2].owner.store(self);
    a.mapping.row(2)[7].store(100);
    a.mapping.row(9)[7].store(5);  // a dead process's row, free
    REQUIRE(::unlink(path.c_str()) == 0);
    CHECK(shm::check_file(a.mapping) == shm::FileState::Deleted);

    std::vector<uint64_t> copy_taken;
    const std::vector<uint64_t> *copy = &copy_taken;
    shm::OpenResult b = shm::republish(a.mapping, &copy_taken);
    REQUIRE(b.mapping.valid());
    CHECK(copy_taken.size() == a.mapping.size() / 8);  // this process published it
    CHECK(b.mapping.layout().generation == a.mapping.layout().generation);
    // Counting went on in the old mapping until every writer moved: the publisher's merge
    // catches it up, rows, the shared row, student tallies, distinct users and gauges alike.
    a.mapping.row(2)[7].store(130);
    a.mapping.leases()[2].owner.store(0);  // released in the old mapping after the copy
    a.mapping.row(9)[7].store(8);          // taken back and used after the copy
    a.mapping.shared_row()[7].fetch_add(4);
    shm::UserEntry *u =
        tables::find_or_insert(a.mapping.users(), a.mapping.layout().user_slots, 99);
    REQUIRE(u);
    tables::mark_user(*u, shm::kDay, 20000, 1u << 2);
    a.mapping.gauges()[1].store((uint64_t{1700000000} << 32) | 12);
    shm::StudentEntry *s =
        tables::find_or_insert(a.mapping.students(), a.mapping.layout().student_slots, 77);
    REQUIRE(s);
    s->level[0].store((uint32_t{26} << 16) | 3);
    tables::add_tally(s->tally[0][1], 26, 6);
    // This process's lease of row 2 in the copy is freed; the copy's values stay.
    CHECK(shm::free_copied_leases(b.mapping, {2}, self) == 1);
    CHECK(b.mapping.leases()[2].owner.load() == 0);
    CHECK(b.mapping.row(2)[7].load() == 100);
    b.mapping.row(2)[7].fetch_add(1);  // a writer that leased it in the copy since
    shm::merge_after_copy(a.mapping, *copy, b.mapping);
    const shm::UserEntry *moved =
        tables::find_or_insert(b.mapping.users(), b.mapping.layout().user_slots, 99);
    REQUIRE(moved);
    CHECK(moved->slot[shm::kDay][0].load() == shm::user_slot(20000, 1u << 2));
    CHECK(b.mapping.gauges()[1].load() == ((uint64_t{1700000000} << 32) | 12));
    const shm::StudentEntry *student =
        tables::find_or_insert(b.mapping.students(), b.mapping.layout().student_slots, 77);
    REQUIRE(student);
    CHECK(shm::tally_count(student->tally[0][1].load()) == 6);
    CHECK(student->level[0].load() == ((uint32_t{26} << 16) | 3));
    CHECK(shm::check_file(b.mapping) == shm::FileState::Ok);
    std::string error;
    auto view = reader::SegmentView::open(path, &error);
    REQUIRE(view);
    CHECK(view->cell(7) == 100 + 5 + 30 + 3 + 4 + 1);  // the copy, then every gain since
    // A second process republishing finds the copy and attaches to it.
    std::vector<uint64_t> not_mine{1};
    shm::OpenResult c = shm::republish(a.mapping, &not_mine);
    REQUIRE(c.mapping.valid());
    CHECK_FALSE(c.created);
    CHECK(not_mine.empty());
    CHECK(c.mapping.layout().generation == a.mapping.layout().generation);
}

TEST_CASE("flush records when the segment was last written back", "[segment][persist]") {
    const TempDir dir_tmp("sonde-persist-");
    const std::string &dir = dir_tmp.path;
    shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
    REQUIRE(r.mapping.valid());
    CHECK(shm::flush(r.mapping, 1700000000));
    CHECK(r.mapping.header().flushed_unix.load() == 1700000000);
    CHECK(r.mapping.header().flush_count.load() == 1);
}
