// zstd's tracing hooks, defined inside the plugin as hidden no-ops.
//
// Debian's libzstd.a is built with ZSTD_TRACE=1: it declares ZSTD_trace_compress_begin/_end and
// ZSTD_trace_decompress_begin/_end as weak symbols and calls them when they resolve. Left
// undefined, they stayed weak undefined symbols of libsonde.so, so the dynamic linker bound them
// to whatever the host defines under those names (a host with its own traced zstd), and the
// plugin's private zstd called into the host with its own contexts. Defined here, hidden, they
// bind inside the .so at link time. Returning 0 tells zstd not to trace, so the _end hooks are
// never reached. The signatures are zstd's (lib/common/zstd_trace.h), with opaque contexts; the
// header is not installed.
//
// This file is a source of the sonde target itself, not of an archive: a weak reference never
// pulls an archive member, so the definitions must be in an object that is always linked.
// tests/abi/test_linking.cc checks that no such symbol is left and that a host's hooks are never
// called.

#if defined(_WIN32)
#define SONDE_HIDDEN  // PE: only what sonde.def names is exported
#else
#define SONDE_HIDDEN __attribute__((visibility("hidden")))
#endif

extern "C" {

SONDE_HIDDEN unsigned long long ZSTD_trace_compress_begin(const void *) { return 0; }
SONDE_HIDDEN void ZSTD_trace_compress_end(unsigned long long, const void *) {}
SONDE_HIDDEN unsigned long long ZSTD_trace_decompress_begin(const void *) { return 0; }
SONDE_HIDDEN void ZSTD_trace_decompress_end(unsigned long long, const void *) {}

}  // extern "C"
