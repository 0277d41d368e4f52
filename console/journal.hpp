#pragma once
// The inbox's journal (docs/delivery.md#the-journal): accepted uploads are appended to a segment
// file, DATA/journal/<number, 20 digits>.journal, and made durable by one fdatasync per group of
// concurrent uploads (group commit) instead of a new file, its fsync and a directory fsync each.
//
// A record is a 40-byte header then the sealed file, byte for byte:
//     0  magic "SJR1" (0x3152_4A53 little-endian)   4  payload length (u32)
//     8  sequence (u64)                             16 received time, unix seconds (i64)
//     24 UAI (8 ASCII bytes)                        32 CRC32C of bytes 0..32 and the payload
//     36 zero (u32)
// all little-endian. A segment is appended to until it would pass `segment_bytes`, then synced
// and sealed, and the next one is created (and its directory entry fsynced) before any record
// in it is acknowledged. The ingestor reads records back, archives and applies them; a segment
// is retired (unlinked) once sealed and every record in it is applied, after the caller made
// the archive and the store durable (retire()'s `make_durable`). At start, open() reads every
// unretired segment in order: records are handed back to be applied again (idempotent), and a
// torn tail (a header or checksum that does not hold: a crash during an append that was never
// acknowledged) is cut off and logged.

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sonde::console {

uint32_t crc32c(uint32_t crc, const uint8_t *data, size_t size);

// Where a record is: what the ingestor needs to read it back.
struct JournalRecord {
    std::string base;
    uint64_t sequence = 0;
    int64_t received_unix = 0;
    uint64_t segment = 0;  // 0: not in the journal
    uint64_t offset = 0;   // of the payload in the segment file
    uint32_t length = 0;
    uint32_t crc = 0;
};

class Journal {
  public:
    static constexpr uint32_t kMagic = 0x31524A53;  // "SJR1"
    static constexpr size_t kHeader = 40;

    Journal(std::string dir, uint64_t segment_bytes, uint64_t max_record);
    ~Journal();
    Journal(const Journal &) = delete;
    Journal &operator=(const Journal &) = delete;

    // Creates the directory, takes its lock (one process at a time: false with "in use" in
    // `error` if another holds it), reads every segment: their records in order into `out`
    // (a key twice: the first), a torn tail cut off (logged).
    bool open(std::vector<JournalRecord> &out, std::string *error);
    bool is_open() const { return lock_fd_ >= 0; }

    struct Put {
        enum Kind { Appended, Journaled, Elsewhere, Failed } kind = Failed;
        JournalRecord record;  // Appended, Journaled: where it is
        uint64_t ticket = 0;   // Appended, Journaled: sync(ticket) before answering
    };
    // Under the journal's lock: if (base, sequence) is journaled already: Journaled (not
    // appended); otherwise if `elsewhere()` (the archive holds it): Elsewhere; otherwise the
    // record is appended (written, not yet durable). Failed: `error`, `errno_out`.
    Put append(const std::string &base, uint64_t sequence, int64_t received_unix,
               std::span<const uint8_t> bytes, const std::function<bool()> &elsewhere,
               std::string *error, int *errno_out);
    // Waits until a group commit covers the ticket (the thread that finds none running makes
    // one: fdatasync of the current segment, covering every record appended before it). False
    // if that fdatasync failed: the journal then refuses every later append (the process must
    // restart and replay what is on disk).
    bool sync(uint64_t ticket, std::string *error);
    // The payload of a record, its checksum verified.
    bool read(const JournalRecord &r, std::vector<uint8_t> &out, std::string *error) const;
    // The record is archived and applied (by the ingestor).
    void applied(const JournalRecord &r);
    // Retires every sealed segment whose records are all applied: make_durable() (the archive
    // and the store on disk), then unlink and fsync of the directory, then the index forgets
    // their records. `idle_seconds` >= 0: the current segment is sealed first if all its
    // records are applied and none was appended for that long. Returns segments retired, -1 on
    // an error. One caller at a time (the ingestor).
    int retire(int64_t idle_seconds, const std::function<bool(std::string *)> &make_durable,
               std::string *error);

    struct Stats {
        uint64_t segments = 0, bytes = 0, records = 0;  // held now
        uint64_t appended = 0, syncs = 0, retired = 0;  // since start
        bool failed = false;
    };
    Stats stats() const;

  private:
    struct Segment {
        uint64_t number = 0;
        int fd = -1;
        uint64_t end = 0;  // bytes written
        uint64_t records = 0, applied = 0;
        uint64_t last_ticket = 0;
        int64_t last_append = 0;  // steady seconds
        bool sealed = false;
        ~Segment();
    };
    std::string path_of(uint64_t number) const;
    bool start_segment(std::string *error);  // with mutex_ held
    bool seal_current(std::string *error);   // with mutex_ held: fdatasync, sealed

    const std::string dir_;
    const uint64_t segment_bytes_;
    const uint64_t max_record_;
    int lock_fd_ = -1;

    mutable std::mutex mutex_;
    std::condition_variable synced_cv_;
    using Key = std::pair<std::string, uint64_t>;
    std::map<Key, JournalRecord> index_;  // records of unretired segments
    std::map<uint64_t, std::shared_ptr<Segment>> segments_;
    std::shared_ptr<Segment> current_;  // appended to; null: the next append makes one
    uint64_t next_number_ = 1;
    uint64_t appended_ = 0;  // tickets handed out
    uint64_t synced_ = 0;    // tickets up to this one are durable
    bool syncing_ = false;
    bool failed_ = false;
    std::string failure_;
    uint64_t syncs_ = 0, retired_ = 0, bytes_ = 0;
};

}  // namespace sonde::console
