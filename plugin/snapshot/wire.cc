#include "snapshot/wire.hpp"

#include <span>

namespace sonde::snapshot {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2 };

// Appends to a byte vector; sub-messages are written in place and their length prefix is
// inserted afterwards (bodies are small, so the shift is cheaper than a sizing pass).
class Writer {
  public:
    explicit Writer(Bytes &out) : out_(out) {}

    void varint(uint64_t v) {
        uint8_t buf[10];
        out_.insert(out_.end(), buf, buf + put_varint(buf, v));
    }
    void tag(uint32_t field, WireType type) { varint((uint64_t{field} << 3) | type); }

    // proto3: a scalar equal to its default is not written.
    void uint(uint32_t field, uint64_t v) {
        if (v == 0) return;
        tag(field, kVarint);
        varint(v);
    }
    void sint(uint32_t field, int64_t v) {
        uint(field, static_cast<uint64_t>(v));
    }  // int64: two's complement
    void boolean(uint32_t field, bool v) { uint(field, v ? 1 : 0); }
    template <class Enum>
    void enumeration(uint32_t field, Enum v) {
        uint(field, static_cast<uint32_t>(v));
    }
    void fixed64(uint32_t field, uint64_t v) {
        if (v == 0) return;
        tag(field, kFixed64);
        for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void string(uint32_t field, const std::string &s) {
        if (s.empty()) return;
        const std::string text = valid_utf8(s);
        tag(field, kLen);
        varint(text.size());
        out_.insert(out_.end(), text.begin(), text.end());
    }
    template <class T>
    void packed(uint32_t field, const std::vector<T> &values) {
        if (values.empty()) return;
        message(field, [&] {
            for (T v : values) varint(v);
        });
    }
    // Singular and repeated sub-messages are always written, even when empty.
    template <class Body>
    void message(uint32_t field, Body &&body) {
        tag(field, kLen);
        const size_t start = out_.size();
        body();
        uint8_t buf[10];
        const size_t n = put_varint(buf, out_.size() - start);
        out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(start), buf, buf + n);
    }

  private:
    static size_t put_varint(uint8_t *buf, uint64_t v) {
        size_t n = 0;
        while (v >= 0x80) {
            buf[n++] = static_cast<uint8_t>(v | 0x80);
            v >>= 7;
        }
        buf[n++] = static_cast<uint8_t>(v);
        return n;
    }
    Bytes &out_;
};

void window(Writer &w, uint32_t field, const Window &win) {
    w.message(field, [&] {
        w.enumeration(1, win.kind);
        w.sint(2, win.start_unix);
        w.uint(3, win.number);
    });
}

void value(Writer &w, const Value &v) {
    w.message(10, [&] {
        window(w, 1, v.window);
        w.enumeration(2, v.measure_kind);
        w.uint(3, v.measure_id);
        w.uint(4, v.level);
        w.uint(5, v.profile);
        w.uint(6, v.medium);
        w.uint(7, v.access);
        w.sint(8, v.value);
        w.boolean(9, v.suppressed);
        w.boolean(10, v.rounded);
    });
}

void gauge(Writer &w, const Gauge &g) {
    w.message(11, [&] {
        w.uint(1, g.gauge);
        w.uint(2, g.level);
        w.sint(3, g.value);
        w.sint(4, g.set_unix);
        w.boolean(5, g.suppressed);
        w.boolean(6, g.rounded);
    });
}

void distinct(Writer &w, const Distinct &d) {
    w.message(12, [&] {
        window(w, 1, d.window);
        w.uint(2, d.profiles);
        w.uint(3, d.media);
        w.uint(4, d.accesses);
        w.uint(5, d.users);
        w.boolean(6, d.suppressed);
    });
}

void distribution(Writer &w, const Distribution &d) {
    w.message(13, [&] {
        window(w, 1, d.window);
        w.uint(2, d.tally);
        w.uint(3, d.level);
        w.packed(4, d.bin_low);
        w.packed(5, d.students);
        w.boolean(6, d.suppressed);
        w.boolean(7, d.rounded);
    });
}

// Length of the UTF-8 sequence starting at s[i] if it is well formed (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF), else 0.
size_t utf8_sequence(const std::string &s, size_t i) {
    const auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
    const unsigned c = at(i);
    const auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
        const unsigned b = at(k);
        return b >= lo && b <= hi;
    };
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (c == 0xE0) return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        return cont(i + 1) && cont(i + 2) ? 3 : 0;
    if (c == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
    if (c == 0xF0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    if (c == 0xF4) return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    return 0;
}

}  // namespace

std::string valid_utf8(const std::string &text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const size_t n = utf8_sequence(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    return out;
}

void encode(const Snapshot &s, Bytes &out) {
    out.clear();
    // Roughly 25 bytes per figure: one allocation for a typical snapshot.
    out.reserve(256 + 25 * (s.values.size() + s.distinct.size() + s.gauges.size()) +
                64 * s.distributions.size());
    Writer w(out);
    w.fixed64(1, s.schema_hash);
    w.string(2, s.catalog_version);
    w.string(3, s.base_id);
    w.uint(4, s.product);
    w.fixed64(5, s.segment_generation);
    w.uint(6, s.sequence);
    w.sint(7, s.created_unix);
    w.string(8, s.timezone);
    for (const LevelLabel &l : s.levels)
        w.message(9, [&] {
            w.uint(1, l.level);
            w.string(2, l.label);
        });
    for (const Value &v : s.values) value(w, v);
    for (const Gauge &g : s.gauges) gauge(w, g);
    for (const Distinct &d : s.distinct) distinct(w, d);
    for (const Distribution &d : s.distributions) distribution(w, d);
    for (const Suppressed &x : s.suppressed)
        w.message(14, [&] {
            w.uint(1, x.indicator_id);
            w.enumeration(2, x.reason);
            w.uint(3, x.count);
        });
    w.message(15, [&] {
        w.uint(1, s.policy.k_anonymity);
        w.boolean(2, s.policy.include_school_only);
        w.uint(3, s.policy.privacy_rule);
    });
    w.uint(16, s.segment_boots);
    w.message(17, [&] {
        w.sint(1, s.coverage.hours_from);
        w.sint(2, s.coverage.hours_to);
        w.boolean(3, s.coverage.restart);
    });
}

}  // namespace sonde::snapshot
