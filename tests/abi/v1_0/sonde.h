/* Vendored for tests/abi/old_host_1_0.c: abi/sonde.h as released with ABI 1.0, unchanged below
 * these comments, from commit bfe63200f29ebc0a3bb2e690111810b3210b511d (2026-11-24, the commit
 * that introduced the ABI: `git show bfe6320:abi/sonde.h`; the header changed next with 1.1). */
/* Kept byte for byte as released: */
/* clang-format off */
/*
 * sonde.h - the stable C ABI of libsonde.so, the usage-statistics plugin of PRONOTE/EDT servers.
 *
 * A host loads the library with dlopen(), checks sonde_abi_magic(), then asks for a function
 * table with sonde_get_api(SONDE_ABI_MAJOR, minor). Those two are the only exported symbols;
 * everything else goes through the table, so the library can grow without the host relinking.
 *
 * Versioning rules (see docs/abi.md):
 *   - SONDE_ABI_MAJOR changes only when something is removed or changes meaning. A host built
 *     for major M refuses a library of another major (sonde_get_api returns NULL).
 *   - SONDE_ABI_MINOR grows when something is appended: a function at the end of sonde_api,
 *     a field at the end of a parameter struct, a value at the end of an enum. Nothing is ever
 *     reordered; enum values never change; 0 is never a valid enum value.
 *   - Every struct starts with its struct_size, set by whoever allocates it, so both sides know
 *     which fields the other one knows about.
 *
 * Threading: all calls are thread-safe. A sonde_writer belongs to the thread that got it.
 * Recording calls (count, connection, student) never block, allocate, throw or make a syscall;
 * misuse returns an error code and is counted in the diagnostics, it is never fatal.
 *
 * Changelog
 *   1.0  first stable ABI: bases, writers, count/connection/student/gauge_set, levels,
 *        diagnostics, manual clock.
 */
#ifndef SONDE_H
#define SONDE_H

#include <stddef.h>
#include <stdint.h>

#include "sonde_catalog.h" /* generated from the catalogue: event, gauge, tally, dimension enums */

#ifdef __cplusplus
extern "C" {
#endif

#define SONDE_ABI_MAJOR 1
#define SONDE_ABI_MINOR 0
#define SONDE_ABI_MAGIC 0x534F4E44u /* "SOND" */

/* Status codes. >= 0 is success. */
typedef enum sonde_status {
    SONDE_OK = 0,
    SONDE_DISABLED = 1,         /* success: the base is not enabled, nothing was recorded */
    SONDE_E_NULL = -1,          /* a required pointer was NULL */
    SONDE_E_RANGE = -2,         /* an enum value, level or delta out of range */
    SONDE_E_SIZE = -3,          /* struct_size too small for this ABI */
    SONDE_E_VERSION = -4,       /* ABI version mismatch */
    SONDE_E_ARG = -5,           /* malformed argument (base id, key length, label...) */
    SONDE_E_HANDLE = -6,        /* stale or foreign handle (released writer, closed base) */
    SONDE_E_IO = -7,            /* shared memory or configuration could not be used */
    SONDE_E_FULL = -8,          /* a bounded table is full; counted, the event is partly kept */
    SONDE_E_NOMEM = -9,         /* out of memory at open time */
    SONDE_E_INTERNAL = -10      /* a bug: please report with sonde_api.diagnostics output */
} sonde_status;

typedef struct sonde_base sonde_base;     /* one opened base (one school's database) */
typedef struct sonde_writer sonde_writer; /* a per-thread recording handle */

/* Returned by sonde_abi_magic(); like PostgreSQL's PG_MODULE_MAGIC. */
typedef struct sonde_magic {
    uint32_t struct_size;
    uint32_t magic;     /* SONDE_ABI_MAGIC */
    uint16_t abi_major; /* SONDE_ABI_MAJOR of the library */
    uint16_t abi_minor; /* highest minor the library implements */
    uint64_t schema_hash; /* SONDE_SCHEMA_HASH of the library's catalogue */
} sonde_magic;

/* Parameters of sonde_api.base_open. Zero-initialise, then set struct_size = sizeof. */
typedef struct sonde_open_params {
    uint32_t struct_size;
    uint32_t product;       /* sonde_product */
    const char *base_id;    /* UAI: 7 digits + 1 letter, e.g. "0310001A" */
    const char *config_dir; /* holds <base_id>.conf, written by `sonde-ctl enable` */
    const char *shm_dir;    /* where segments live; NULL = "/dev/shm" */
} sonde_open_params;

/* What sonde_api.diagnostics fills. Set struct_size = sizeof before the call. Counters are
 * cumulative: process-wide ones for calls that could not name a base, plus the base's own
 * (shared by all processes serving it) when a base is given. */
typedef struct sonde_diagnostics {
    uint32_t struct_size;
    uint32_t enabled;            /* 1 if the base records */
    uint64_t null_argument;      /* calls with a NULL pointer */
    uint64_t out_of_range;       /* bad enum value, level or delta */
    uint64_t bad_struct_size;    /* struct_size too small */
    uint64_t bad_argument;       /* malformed id, key, label */
    uint64_t bad_handle;         /* stale writer or base */
    uint64_t disabled_calls;     /* recording calls on a disabled base */
    uint64_t shared_row_writers; /* writers that got the slower shared row (all rows leased) */
    uint64_t rows_reclaimed;     /* rows taken back from dead processes */
    uint64_t users_table_full;   /* connections whose user could not be placed (distinct undercounted) */
    uint64_t students_table_full; /* tallies whose student could not be placed */
    uint64_t config_errors;      /* malformed configuration files (previous state kept) */
    uint64_t config_reloads;     /* configuration changes applied */
    uint64_t segments_replaced;  /* incompatible or corrupt segments set aside */
    uint32_t rows_in_use;        /* rows leased right now */
    uint32_t rows_total;
    uint32_t users_used;         /* distinct users in the table */
    uint32_t users_capacity;
    uint32_t students_used;
    uint32_t students_capacity;
} sonde_diagnostics;

/* The function table. Append-only: new functions go at the end, struct_size tells the host
 * which ones exist. Every function is noexcept and validates its arguments. */
typedef struct sonde_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;

    /* "sonde 1.0.0 (abi 1.0, catalogue 2023.1)"; static storage. */
    const char *(*version)(void);
    /* Human-readable text for a sonde_status; static storage, never NULL. */
    const char *(*strerror)(int status);

    /* Opens a base; several opens of the same base in one process share one segment.
     * Never fails because the base is disabled: a disabled base records nothing until
     * `sonde-ctl enable` writes its configuration (picked up within seconds). */
    int (*base_open)(const sonde_open_params *params, sonde_base **out);
    /* Releases the process's writers of this base and closes it. The counters stay. */
    int (*base_close)(sonde_base *base);

    /* A writer for the calling thread: leases a counter row of the base's segment. Call it
     * once per thread (not on the hot path) and keep the handle in the thread; the row is
     * given back when the thread ends or on writer_release. */
    int (*writer_get)(sonde_base *base, sonde_writer **out);
    int (*writer_release)(sonde_writer *writer);

    /* Hot path. Adds delta (may be negative: corrections) to a counter event at a class level
     * (0 = unspecified, 1..SONDE_LEVEL_SLOTS-1 as declared with level_declare). */
    int (*count)(sonde_writer *writer, uint32_t event, uint32_t level, int64_t delta);
    /* Hot path. One authenticated connection. user_key is the host's opaque identifier of the
     * person (any bytes, 1..256); it is hashed with the base's secret before anything is
     * stored, and only serves to count distinct users per day, month and school year. */
    int (*connection)(sonde_writer *writer, uint32_t profile, uint32_t medium, uint32_t access,
                      const void *user_key, size_t user_key_len);
    /* Hot path. A per-student event (absence half-day, late arrival, punishment...). Adds
     * delta to the level's counter and to the student's tally for the school year.
     * student_key is hashed like user_key. */
    int (*student)(sonde_writer *writer, uint32_t tally, const void *student_key,
                   size_t student_key_len, uint32_t level, int64_t delta);

    /* Sets an inventory (number of classes, of rooms...). value in [INT32_MIN, INT32_MAX]. */
    int (*gauge_set)(sonde_base *base, uint32_t gauge, uint32_t level, int64_t value);
    /* Declares class level `level` (1..SONDE_LEVEL_SLOTS-1) with its label (UTF-8, < 32 bytes),
     * e.g. 1 "6EME", 2 "5EME"... The labels travel with the figures. */
    int (*level_declare)(sonde_base *base, uint32_t level, const char *label);

    /* Fills *out; base may be NULL for the process-wide counters only. */
    int (*diagnostics)(const sonde_base *base, sonde_diagnostics *out);

    /* Replaces the base's clock, for tests and replays: from now on the base believes it is
     * unix_seconds (UTC). Pass a negative value to return to the system clock. */
    int (*clock_set)(sonde_base *base, int64_t unix_seconds);
} sonde_api;

/* The only exported symbols. */
const sonde_magic *sonde_abi_magic(void);
/* Returns the table if the library implements abi_major and at least min_minor, else NULL. */
const sonde_api *sonde_get_api(uint32_t abi_major, uint32_t min_minor);

typedef const sonde_magic *(*sonde_abi_magic_fn)(void);
typedef const sonde_api *(*sonde_get_api_fn)(uint32_t abi_major, uint32_t min_minor);

#ifdef __cplusplus
}
#endif

#endif /* SONDE_H */
