// sonde-console-load: the load generator of issue 9 §4 (bench/README.md, docs/delivery.md#cost-
// and-throughput). Simulated bases upload sealed snapshots to a real sonde-console over loopback
// HTTPS, with libcurl as the uplink uses it, and check every receipt.
//
//   sonde-console-load pubkeys --bases N --out DIR
//       The simulated bases' sender public keys, DIR/<UAI>.pub, and DIR/bases.txt
//       ("UAI path" per line) for `sonde-console keys import`. The private keys are derived from
//       the UAI (bench only), so they are never written.
//   sonde-console-load seal --bases N --files F --template PAYLOAD --console-public FILE --out PACK
//       Seals F files per base ahead of time (outside any timed phase): the template (a real
//       snapshot's serialized protobuf, `sonde-snapshot-bench PAYLOAD`) with the base's UAI, its
//       own sequence and creation time, compressed at the shipper's level and sealed with the
//       base's key. The receipt of each file is kept beside it in PACK.
//   sonde-console-load burst  --pack PACK --url URL --ca CERT [--connections K] [--share]
//       Catch-up: every base sends its whole backlog (newest first, then oldest first, one
//       request in flight per base) as fast as the console accepts. K connections; a base opens
//       its own connection and closes it after its last file, as one uplink per machine does
//       (--share: bases reuse the connections, a hosting farm's single uplink).
//   sonde-console-load spread --pack PACK --url URL --ca CERT --compress C [--connections K]
//       Each base sends file k at k × 15 min + its UAI offset (the uplink's pacing), with the
//       clock running C times faster; every upload on a fresh connection (a school server
//       connects once per interval). Lateness = completion − due time. --intervals N plays the
//       first N files of each base only.
//   sonde-console-load wait --url URL --ca CERT --applied N
//       Polls /metrics until the console has applied N files and has no backlog.
//   Both upload modes then poll /metrics until the console has applied what it stored
//   (--no-wait: do not) and print a JSON summary on stdout.
#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "crypto/x25519_openssl.hpp"
#include "pacing.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/keys.hpp"
#include "sonde_snapshot.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using sonde::snapshot::Receipt;

constexpr char kPackMagic[8] = {'S', 'O', 'N', 'D', 'L', 'O', 'A', 'D'};
constexpr uint64_t kFirstSequence = 1000;
constexpr int64_t kIntervalS = 900;

[[noreturn]] void die(const std::string &message) {
    std::fprintf(stderr, "sonde-console-load: %s\n", message.c_str());
    std::exit(1);
}

std::string uai(uint32_t i) {
    char b[16];
    std::snprintf(b, sizeof b, "%07u%c", (i + 1) % 10000000u, char('A' + i % 26));
    return b;
}

sonde::crypto::KeyPair sender_key(const std::string &base) {
    const std::string ikm = "sonde-console-load sender " + base;
    return sonde::crypto::derive_key_pair(
        std::span(reinterpret_cast<const uint8_t *>(ikm.data()), ikm.size()));
}

struct Args {
    std::map<std::string, std::string> named;
    std::string get(const std::string &k, const std::string &fallback = "") const {
        const auto it = named.find(k);
        return it == named.end() ? fallback : it->second;
    }
    std::string need(const std::string &k) const {
        const auto it = named.find(k);
        if (it == named.end()) die("--" + k + " is required");
        return it->second;
    }
    uint64_t num(const std::string &k, uint64_t fallback) const {
        const auto it = named.find(k);
        return it == named.end() ? fallback : std::stoull(it->second);
    }
    bool flag(const std::string &k) const { return named.count(k) != 0; }
};

Args parse(int argc, char **argv) {
    Args a;
    for (int i = 2; i < argc; ++i) {
        const std::string s = argv[i];
        if (!s.starts_with("--")) die("unexpected argument " + s);
        const std::string k = s.substr(2);
        if (k == "share" || k == "no-wait" || k == "reuse")
            a.named[k] = "1";
        else if (i + 1 < argc)
            a.named[k] = argv[++i];
        else
            die(s + " needs a value");
    }
    return a;
}

// ---- pubkeys ----

int cmd_pubkeys(const Args &a) {
    const uint32_t n = uint32_t(a.num("bases", 10000));
    const std::string dir = a.need("out");
    std::ofstream list(dir + "/bases.txt");
    std::string error;
    for (uint32_t i = 0; i < n; ++i) {
        const std::string base = uai(i);
        const sonde::crypto::KeyPair k = sender_key(base);
        const std::string path = dir + "/" + base + ".pub";
        if (!sonde::snapshot::save_public_key(path, k.public_key, true, &error)) die(error);
        list << base << ' ' << path << '\n';
    }
    if (!list.flush()) die("cannot write " + dir + "/bases.txt");
    std::fprintf(stderr, "%u public keys in %s\n", n, dir.c_str());
    return 0;
}

// ---- the pack of sealed files ----

struct Record {
    std::string base;
    uint64_t sequence = 0;
    Receipt receipt{};
    std::vector<uint8_t> file;
};

struct Pack {
    uint32_t bases = 0, files = 0;
    std::vector<Record> records;  // base-major: record of (base b, file k) at b * files + k
};

void put_u64(std::string &out, uint64_t v) { out.append(reinterpret_cast<char *>(&v), 8); }

int cmd_seal(const Args &a) {
    const uint32_t n = uint32_t(a.num("bases", 10000)), f = uint32_t(a.num("files", 10));
    std::ifstream in(a.need("template"), std::ios::binary);
    const std::string payload((std::istreambuf_iterator<char>(in)), {});
    sonde::snapshot::v1::Snapshot tmpl;
    if (payload.empty() || !tmpl.ParseFromString(payload)) die("the template is not a Snapshot");
    sonde::snapshot::PublicKey console{};
    std::string error;
    if (!sonde::snapshot::load_public_key(a.need("console-public"), console, &error)) die(error);
    const int64_t last = (std::time(nullptr) / kIntervalS) * kIntervalS;
    std::vector<Record> records(size_t(n) * f);
    std::atomic<bool> failed{false};
    const auto t0 = Clock::now();
    auto work = [&](uint32_t from, uint32_t step) {
        sonde::snapshot::v1::Snapshot s = tmpl;
        std::string bytes, why;
        for (uint32_t b = from; b < n && !failed; b += step) {
            const std::string base = uai(b);
            sonde::snapshot::SealParams p;
            p.recipient_public = console;
            p.sender = sender_key(base);
            p.base_id = base;
            p.compression_level = 3;  // the shipper's (plugin/ship/shipper.cc)
            for (uint32_t k = 0; k < f; ++k) {
                Record &r = records[size_t(b) * f + k];
                r.base = base;
                r.sequence = kFirstSequence + k;
                p.sequence = r.sequence;
                p.created_unix = last - int64_t(f - 1 - k) * kIntervalS;
                s.set_base_id(base);
                s.set_sequence(r.sequence);
                s.set_created_unix(p.created_unix);
                bytes.clear();
                s.SerializeToString(&bytes);
                if (!sonde::snapshot::seal_snapshot(
                        std::span(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()), p,
                        r.file, &why, &r.receipt)) {
                    std::fprintf(stderr, "seal %s: %s\n", base.c_str(), why.c_str());
                    failed = true;
                    return;
                }
            }
        }
    };
    std::thread other(work, 1, 2);
    work(0, 2);
    other.join();
    if (failed) return 1;
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::FILE *out = std::fopen(a.need("out").c_str(), "wb");
    if (!out) die("cannot write " + a.need("out"));
    std::string head(kPackMagic, 8);
    head.append(reinterpret_cast<const char *>(&n), 4);
    head.append(reinterpret_cast<const char *>(&f), 4);
    std::fwrite(head.data(), 1, head.size(), out);
    size_t bytes = 0, smallest = SIZE_MAX, largest = 0;
    for (const Record &r : records) {
        std::string h = r.base;
        put_u64(h, r.sequence);
        h.append(reinterpret_cast<const char *>(r.receipt.data()), r.receipt.size());
        const uint32_t len = uint32_t(r.file.size());
        h.append(reinterpret_cast<const char *>(&len), 4);
        std::fwrite(h.data(), 1, h.size(), out);
        std::fwrite(r.file.data(), 1, r.file.size(), out);
        bytes += r.file.size();
        smallest = std::min(smallest, r.file.size());
        largest = std::max(largest, r.file.size());
    }
    if (std::fclose(out) != 0) die("cannot write " + a.need("out"));
    std::fprintf(stderr,
                 "sealed %zu files (%u bases x %u) in %.1f s on 2 threads: template %zu bytes of "
                 "protobuf, %d values / %d distinct; sealed files %zu to %zu bytes, mean %zu\n",
                 records.size(), n, f, secs, payload.size(), tmpl.values_size(),
                 tmpl.distinct_size(), smallest, largest, bytes / records.size());
    return 0;
}

Pack load_pack(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), {});
    if (data.size() < 16 || std::memcmp(data.data(), kPackMagic, 8) != 0)
        die("not a pack: " + path);
    Pack p;
    std::memcpy(&p.bases, data.data() + 8, 4);
    std::memcpy(&p.files, data.data() + 12, 4);
    size_t at = 16;
    p.records.resize(size_t(p.bases) * p.files);
    for (Record &r : p.records) {
        if (at + 8 + 8 + 32 + 4 > data.size()) die("truncated pack");
        r.base.assign(data.data() + at, 8);
        std::memcpy(&r.sequence, data.data() + at + 8, 8);
        std::memcpy(r.receipt.data(), data.data() + at + 16, 32);
        uint32_t len = 0;
        std::memcpy(&len, data.data() + at + 48, 4);
        at += 52;
        if (at + len > data.size()) die("truncated pack");
        r.file.assign(data.begin() + ptrdiff_t(at), data.begin() + ptrdiff_t(at + len));
        at += len;
    }
    return p;
}

// ---- /metrics, polled by its own thread ----

struct Sample {
    double t;  // seconds since the start of the uploads
    int64_t applied, backlog, lag;
};

size_t to_string(char *data, size_t size, size_t n, void *user) {
    static_cast<std::string *>(user)->append(data, size * n);
    return size * n;
}

int64_t metric(const std::string &text, const std::string &name) {
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + name.size() + 2));
}

CURL *new_easy(const std::string &ca) {
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CAINFO, ca.c_str());
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, long(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "sonde-console-load/1");
    return e;
}

class Poller {
  public:
    Poller(const std::string &url, const std::string &ca, Clock::time_point start)
        : url_(url + "/metrics"), easy_(new_easy(ca)), start_(start) {}
    ~Poller() {
        stop();
        curl_easy_cleanup(easy_);
    }
    Sample once() {
        std::string body;
        curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
        curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, to_string);
        curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &body);
        const CURLcode rc = curl_easy_perform(easy_);
        const double t = std::chrono::duration<double>(Clock::now() - start_).count();
        if (rc != CURLE_OK) return {t, -1, -1, -1};
        body.insert(body.begin(), '\n');
        return {t, metric(body, "sonde_console_applied_total"),
                metric(body, "sonde_console_inbox_backlog_files"),
                metric(body, "sonde_console_ingest_lag_seconds")};
    }
    void start() {
        thread_ = std::thread([this] {
            while (!stop_) {
                const Sample s = once();
                {
                    std::lock_guard lock(mutex_);
                    samples_.push_back(s);
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(500));
            }
        });
    }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::vector<Sample> samples() {
        std::lock_guard lock(mutex_);
        return samples_;
    }

  private:
    std::string url_;
    CURL *easy_;
    Clock::time_point start_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<Sample> samples_;
};

// ---- uploads ----

struct Job {
    size_t record = 0;
    Clock::time_point due;  // spread: when the base sends it
    bool fresh = false;     // new connection for this request
    bool last = false;      // close the connection after it
};

struct Slot {
    CURL *easy = nullptr;
    bool busy = false;
    Job job;
    size_t sent = 0;
    std::string answer;
    long retry_after = -1;
    Clock::time_point started;
    // burst: the base this connection is draining, and its order of files
    int64_t base = -1;
    std::vector<size_t> order;
    size_t pos = 0;
    Clock::time_point wait_until{};
};

struct Counts {
    uint64_t verified = 0, duplicate = 0, forged = 0, rejected = 0, retry = 0, network = 0;
};

struct Runner {
    const Pack &pack;
    std::string url;
    curl_slist *headers = nullptr;

    static size_t read_body(char *buffer, size_t size, size_t count, void *user) {
        auto *s = static_cast<std::pair<const Runner *, Slot *> *>(user);
        const std::vector<uint8_t> &f = s->first->pack.records[s->second->job.record].file;
        const size_t n = std::min(size * count, f.size() - s->second->sent);
        std::memcpy(buffer, f.data() + s->second->sent, n);
        s->second->sent += n;
        return n;
    }
    static size_t header(char *data, size_t size, size_t count, void *user) {
        auto *slot = static_cast<Slot *>(user);
        const std::string_view line(data, size * count);
        if (line.size() > 12 && strncasecmp(line.data(), "retry-after:", 12) == 0)
            slot->retry_after = std::atol(std::string(line.substr(12)).c_str());
        return size * count;
    }

    std::vector<std::pair<const Runner *, Slot *>> ctx;

    void start(Slot &s, CURLM *multi) {
        const Record &r = pack.records[s.job.record];
        const std::string target =
            url + "/v1/bases/" + r.base + "/snapshots/" + std::to_string(r.sequence);
        s.sent = 0;
        s.answer.clear();
        s.retry_after = -1;
        s.busy = true;
        s.started = Clock::now();
        CURL *e = s.easy;
        curl_easy_setopt(e, CURLOPT_URL, target.c_str());
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, curl_off_t(r.file.size()));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_string);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &s.answer);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &s);
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, long(s.job.fresh));
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, long(s.job.last));
        curl_multi_add_handle(multi, e);
    }

    // 1: verified, 0: to send again, -1: given up (forged or rejected: counted, not retried)
    int finish(Slot &s, CURLcode rc, Counts &c) {
        long status = 0;
        curl_easy_getinfo(s.easy, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK) {
            ++c.network;
            return 0;
        }
        if (status == 503 || status == 429) {
            ++c.retry;
            return 0;
        }
        nlohmann::json j = nlohmann::json::parse(s.answer, nullptr, false);
        const std::string st = j.is_object() && j["status"].is_string() ? j["status"] : "";
        if (status == 200 && (st == "stored" || st == "duplicate")) {
            const std::string want = sonde::snapshot::to_hex(pack.records[s.job.record].receipt);
            if (j["receipt"].is_string() && j["receipt"] == want) {
                ++(st == "stored" ? c.verified : c.duplicate);
                return 1;
            }
            ++c.forged;
            return -1;
        }
        ++c.rejected;
        if (c.rejected <= 5) std::fprintf(stderr, "HTTP %ld %s\n", status, s.answer.c_str());
        return -1;
    }
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

int cmd_upload(const Args &a, bool spread) {
    const Pack pack = load_pack(a.need("pack"));
    const std::string url = a.need("url"), ca = a.need("ca");
    const size_t k = size_t(a.num("connections", spread ? 64 : 16));
    const double compress = spread ? double(a.num("compress", 10)) : 1;
    const bool share = a.flag("share"), reuse = a.flag("reuse");
    // spread: how many intervals (files per base) of the pack to play
    const uint32_t use =
        spread ? uint32_t(std::min<uint64_t>(pack.files, a.num("intervals", pack.files)))
               : pack.files;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, long(k + 4));
    Runner run{
        pack, url, curl_slist_append(nullptr, "Content-Type: application/vnd.sonde.snapshot"), {}};
    std::vector<Slot> slots(k);
    run.ctx.resize(k);
    for (size_t i = 0; i < k; ++i) {
        slots[i].easy = new_easy(ca);
        run.ctx[i] = {&run, &slots[i]};
        curl_easy_setopt(slots[i].easy, CURLOPT_READDATA, &run.ctx[i]);
        curl_easy_setopt(slots[i].easy, CURLOPT_PRIVATE, &slots[i]);
    }

    const auto start = Clock::now();
    Poller metrics(url, ca, start);
    const Sample before = metrics.once();
    if (before.applied < 0) die("cannot read " + url + "/metrics");
    metrics.start();
    const double cpu0 = cpu_seconds();

    // Work lists.
    std::deque<uint32_t> bases;  // burst
    for (uint32_t b = 0; b < pack.bases; ++b) bases.push_back(b);
    std::vector<Job> timeline;  // spread
    if (spread) {
        const int64_t interval_ms = kIntervalS * 1000;
        for (uint32_t b = 0; b < pack.bases; ++b) {
            const int64_t offset = sonde::uplink::base_offset_ms(
                pack.records[size_t(b) * pack.files].base, interval_ms);
            for (uint32_t f = 0; f < use; ++f) {
                const double at_ms = double(int64_t(f) * interval_ms + offset) / compress;
                timeline.push_back({size_t(b) * pack.files + f,
                                    start + std::chrono::microseconds(int64_t(at_ms * 1000)),
                                    !reuse, !reuse});
            }
        }
        std::sort(timeline.begin(), timeline.end(),
                  [](const Job &x, const Job &y) { return x.due < y.due; });
    }
    size_t next_job = 0;
    std::deque<Job> resend;  // spread: retried jobs
    Counts counts;
    std::vector<double> latency_ms, lateness_ms;
    size_t done = 0;
    const size_t total = size_t(pack.bases) * use;
    uint64_t handshakes = 0;

    auto next_burst_job = [&](Slot &s) -> bool {
        for (;;) {
            if (s.base < 0) {
                if (bases.empty()) return false;
                s.base = bases.front();
                bases.pop_front();
                s.order.clear();
                // newest first, then the backlog oldest first (the uplink's order)
                s.order.push_back(size_t(s.base) * pack.files + pack.files - 1);
                for (uint32_t f = 0; f + 1 < pack.files; ++f)
                    s.order.push_back(size_t(s.base) * pack.files + f);
                s.pos = 0;
            }
            if (s.pos < s.order.size()) {
                s.job = {s.order[s.pos], Clock::now(), s.pos == 0 && !share,
                         s.pos + 1 == s.order.size() && !share};
                return true;
            }
            s.base = -1;
        }
    };

    while (done < total) {
        const auto now = Clock::now();
        for (Slot &s : slots) {
            if (s.busy || now < s.wait_until) continue;
            if (spread) {
                if (!resend.empty()) {
                    s.job = resend.front();
                    resend.pop_front();
                } else if (next_job < timeline.size() && timeline[next_job].due <= now) {
                    s.job = timeline[next_job++];
                } else {
                    continue;
                }
            } else if (!next_burst_job(s)) {
                continue;
            }
            if (s.job.fresh) ++handshakes;
            run.start(s, multi);
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg *m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE) continue;
            Slot *s = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char **>(&s));
            curl_multi_remove_handle(multi, m->easy_handle);
            s->busy = false;
            const int outcome = run.finish(*s, m->data.result, counts);
            const auto end = Clock::now();
            if (outcome == 0) {
                // The console asked to wait, or the network failed: again after a pause (a short
                // one: the benchmark counts these, the uplink would back off for longer).
                s->wait_until = end + std::chrono::milliseconds(s->retry_after > 0 ? 1000 : 100);
                s->job.fresh = true;
                if (spread) {
                    resend.push_back(s->job);
                }
                continue;
            }
            ++done;
            latency_ms.push_back(
                std::chrono::duration<double, std::milli>(end - s->started).count());
            if (spread)
                lateness_ms.push_back(
                    std::chrono::duration<double, std::milli>(end - s->job.due).count());
            else
                ++s->pos;
        }
        curl_multi_poll(multi, nullptr, 0, spread ? 2 : 20, nullptr);
    }
    const double upload_s = std::chrono::duration<double>(Clock::now() - start).count();
    const double client_cpu = cpu_seconds() - cpu0;

    // Applied: until the console has applied every file it stored in this run.
    const int64_t want = before.applied + int64_t(counts.verified);
    double applied_s = -1;
    if (!a.flag("no-wait")) {
        const auto deadline = Clock::now() + std::chrono::seconds(a.num("wait", 7200));
        for (;;) {
            const std::vector<Sample> ss = metrics.samples();
            if (!ss.empty() && ss.back().applied >= want && ss.back().backlog == 0) {
                applied_s = ss.back().t;
                break;
            }
            if (Clock::now() > deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
    metrics.stop();
    const std::vector<Sample> ss = metrics.samples();
    int64_t peak_backlog = 0, peak_lag = 0;
    for (const Sample &s : ss) {
        peak_backlog = std::max(peak_backlog, s.backlog);
        peak_lag = std::max(peak_lag, s.lag);
    }
    double applied_at_upload_end = 0;
    for (const Sample &s : ss)
        if (s.t <= upload_s) applied_at_upload_end = double(s.applied - before.applied);

    nlohmann::json out = {
        {"mode", spread ? "spread" : "burst"},
        {"bases", pack.bases},
        {"files_per_base", use},
        {"files", total},
        {"connections", k},
        {"new_connections", handshakes},
        {"compress", compress},
        {"stored_verified", counts.verified},
        {"duplicate_verified", counts.duplicate},
        {"forged", counts.forged},
        {"rejected", counts.rejected},
        {"retry_answers", counts.retry},
        {"network_errors", counts.network},
        {"upload_seconds", upload_s},
        {"accepted_per_second", double(counts.verified + counts.duplicate) / upload_s},
        {"applied_during_uploads", applied_at_upload_end},
        {"all_applied_seconds", applied_s},
        {"applied_per_second_overall", applied_s > 0 ? double(counts.verified) / applied_s : 0},
        {"peak_backlog_files", peak_backlog},
        {"peak_ingest_lag_seconds", peak_lag},
        {"request_ms_p50", percentile(latency_ms, 0.5)},
        {"request_ms_p99", percentile(latency_ms, 0.99)},
        {"request_ms_max", percentile(latency_ms, 1.0)},
        {"client_cpu_seconds", client_cpu},
        {"client_cpu_ms_per_upload", 1e3 * client_cpu / double(std::max<size_t>(1, done))},
    };
    if (spread) {
        out["offered_per_second"] = double(pack.bases) * compress / double(kIntervalS);
        out["lateness_ms_p50"] = percentile(lateness_ms, 0.5);
        out["lateness_ms_p99"] = percentile(lateness_ms, 0.99);
        out["lateness_ms_max"] = percentile(lateness_ms, 1.0);
    }
    std::printf("%s\n", out.dump(2).c_str());
    for (Slot &s : slots) curl_easy_cleanup(s.easy);
    curl_multi_cleanup(multi);
    curl_slist_free_all(run.headers);
    return counts.forged || counts.rejected ? 1 : 0;
}

}  // namespace

// Waits until the console's backlog is empty and it has applied at least --applied files;
// prints the seconds it took and the applied count.
int cmd_wait(const Args &a) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const auto start = Clock::now();
    Poller p(a.need("url"), a.need("ca"), start);
    const int64_t want = int64_t(a.num("applied", 0));
    const auto deadline = start + std::chrono::seconds(a.num("wait", 7200));
    for (;;) {
        const Sample s = p.once();
        if (s.applied >= want && s.backlog == 0) {
            std::printf("{\"applied\": %lld, \"seconds\": %.3f}\n", (long long)s.applied, s.t);
            return 0;
        }
        if (Clock::now() > deadline) die("timed out waiting for the console to apply");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fputs("usage: sonde-console-load pubkeys|seal|burst|spread --help (see the source)\n",
                   stderr);
        return 2;
    }
    // Sealing 10,000 bases' files: the same X25519 as the console, 14 times faster than mbedTLS's.
    sonde::crypto::set_x25519_implementation(sonde::crypto::openssl_x25519);
    const std::string cmd = argv[1];
    const Args a = parse(argc, argv);
    if (cmd == "pubkeys") return cmd_pubkeys(a);
    if (cmd == "seal") return cmd_seal(a);
    if (cmd == "burst") return cmd_upload(a, false);
    if (cmd == "spread") return cmd_upload(a, true);
    if (cmd == "wait") return cmd_wait(a);
    die("unknown command " + cmd);
}
