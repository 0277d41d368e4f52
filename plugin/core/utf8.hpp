#pragma once
// Strict UTF-8 validation (RFC 3629): no overlong forms, no UTF-16 surrogates, nothing above
// U+10FFFF, and no control characters (C0, DEL, C1), since labels travel to the console and
// end up in pages, CSV files and logs.

#include <cstddef>
#include <cstdint>

namespace sonde {

inline bool valid_label_utf8(const char *text, size_t len) noexcept {
    const auto *s = reinterpret_cast<const unsigned char *>(text);
    for (size_t i = 0; i < len;) {
        const unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) return false;
            ++i;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;  // a continuation byte without a lead, or 0xf8..0xff
        }
        if (len - i < n) return false;
        for (size_t k = 1; k < n; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        if (cp >= 0x80 && cp <= 0x9f) return false;  // C1 controls
        i += n;
    }
    return true;
}

}  // namespace sonde
