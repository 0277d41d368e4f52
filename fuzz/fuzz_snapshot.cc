// Fuzzes what the console does with a payload once it is authenticated: the protobuf decode
// with its figure count bound (parse_snapshot), then IngestStore's ingestion and a visit of
// every figure, as the ingestor does. Snapshots come from thousands of servers; a bad one must
// be refused or ingested, never crash the console.
#include <cstdint>
#include <span>
#include <string>

#include "snapshot/console.hpp"
#include "snapshot/ingest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sonde::snapshot::v1::Snapshot s;
    std::string error;
    const auto e = sonde::snapshot::parse_snapshot(std::span<const uint8_t>(data, size), s, &error);
    if (e != sonde::snapshot::OpenError::None) {
        if (error.empty()) __builtin_trap();  // every refusal says why
        return 0;
    }
    sonde::snapshot::IngestStore store;
    store.ingest(s);
    size_t figures = 0;
    store.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
        if (f.base.empty()) __builtin_trap();
        ++figures;
    });
    // Ingesting the same snapshot again changes nothing (highest sequence wins, ties kept).
    store.ingest(s);
    size_t again = 0;
    store.visit([&](const sonde::snapshot::IngestStore::FigureView &) { ++again; });
    if (again != figures) __builtin_trap();
    return 0;
}
