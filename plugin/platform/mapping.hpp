#pragma once
// Memory mappings of segment files (platform/posix: mmap; platform/win32: an unnamed section
// over the file, then a view: the file is the rendezvous, nobody can squat a name), and the
// guard against a file truncated under a live mapping (POSIX SIGBUS; Windows refuses to
// truncate a mapped file, so there is nothing to guard).

#include <cstdint>

#include "platform/files.hpp"

namespace sonde::platform {

// A shared mapping of the first `size` bytes of `file`; nullptr (errno set) on failure.
void *map_file(const File &file, uint64_t size, bool writable) noexcept;
// Copies the first `size` bytes of `file` into `out`, as the other processes' mappings see
// them. POSIX: read (a file truncated meanwhile reads short: false, never a SIGBUS); Windows:
// through a view, because Windows keeps views coherent with each other, not with ReadFile.
bool copy_file(const File &file, void *out, uint64_t size) noexcept;
// Private, zeroed, read-write memory (a copy of a file); nullptr on failure.
void *map_private(uint64_t size) noexcept;
void unmap(void *base, uint64_t size) noexcept;
// Writes the dirty pages of a shared mapping to its file, and waits for them.
bool sync_mapping(const File &file, void *base, uint64_t size) noexcept;

// The truncation guard. Every shared mapping of a segment is registered; once installed, a
// fault inside a registered mapping whose file was truncated (POSIX SIGBUS) extends the file
// back to its size and returns, so the faulting access completes on a zero page instead of
// killing the host; the mapping is flagged. Chained to any previous handler.
void install_truncation_guard() noexcept;
void guard_mapping(void *base, uint64_t size, const File &file) noexcept;
void unguard_mapping(void *base) noexcept;
// True once if a fault was absorbed in the mapping at `base` since the last call.
bool take_truncation_flag(void *base) noexcept;

}  // namespace sonde::platform
