// ABI 1.2 counter handles: counter_get fills a sonde_counter in the host's memory, and the
// header's inline sonde_counter_add() stores straight into the writer's row while the writer's
// epoch word still holds the value the counter was resolved with. Every change of target
// (disable, enable, release, fork, base close) changes the epoch, which sends the next add
// here: resolve again, record exactly as count would, or refuse.

#include "api/record.hpp"
#include "api/state.hpp"

namespace sonde::api {

namespace {

// The sonde_counter of ABI 1.2: everything up to slow_.
constexpr uint32_t kCounterSize = uint32_t(sizeof(sonde_counter));

// What a counter's armed_ points at until counter_get succeeds: odd, so never an expect_.
constexpr uint64_t kNeverArmed = 1;

}  // namespace

int api_counter_add(sonde_counter *c, int64_t delta) noexcept;

int api_counter_get(sonde_writer *handle, uint32_t event, uint32_t level,
                    sonde_counter *counter) noexcept {
    if (!counter) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    if (counter->struct_size < kCounterSize)
        return count_diag(nullptr, shm::Diag::BadStructSize, SONDE_E_SIZE);
    // Whatever follows, the counter is safe to add to: a failed one always takes the slow
    // path, which refuses it again.
    counter->struct_size = kCounterSize;
    counter->cell_ = UINT32_MAX;
    counter->armed_ = &kNeverArmed;
    counter->expect_ = 0;
    counter->target_ = nullptr;
    counter->writer_ = handle;
    counter->slow_ = api_counter_add;
    Writer *w = checked_writer(handle);
    if (!w) return refuse_writer(handle);
    BaseState *b = w->base.load(std::memory_order_relaxed);
    if (!valid_count(event, level)) return count_diag(b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    counter->cell_ = kCellOf[event][level];
    counter->armed_ = reinterpret_cast<const uint64_t *>(&w->epoch);
    counter->expect_ = 0;  // no epoch equals a thread pointer: the first add resolves it
    counter->target_ = nullptr;
    counter->writer_ = handle;
    counter->slow_ = api_counter_add;
    return b->recording.load(std::memory_order_relaxed) ? SONDE_OK : SONDE_DISABLED;
}

int api_counter_add(sonde_counter *c, int64_t delta) noexcept {
    if (!c) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    if (c->struct_size < kCounterSize)
        return count_diag(nullptr, shm::Diag::BadStructSize, SONDE_E_SIZE);
    Writer *w = checked_writer(c->writer_);
    if (!w) {
        c->expect_ = 0;
        return refuse_writer(c->writer_);
    }
    BaseState *b = w->base.load(std::memory_order_relaxed);
    if (c->cell_ == UINT32_MAX) {  // counter_get refused it
        c->expect_ = 0;
        return count_diag(b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    }
    if (c->cell_ >= catalog::kCounterCells ||
        c->armed_ != reinterpret_cast<const uint64_t *>(&w->epoch)) {
        c->expect_ = 0;  // not filled by counter_get, or overwritten by the host
        return count_diag(b, shm::Diag::BadArgument, SONDE_E_ARG);
    }
    const uintptr_t owner = w->owner.load(std::memory_order_relaxed);
    const bool own_thread = owner == platform::thread_id();
    // Read the epoch before the target: an arm or disarm after this read changes the epoch,
    // so the inline path cannot use a target older than the epoch it compares.
    const uint64_t epoch = w->epoch.load(std::memory_order_acquire);
    std::atomic<int64_t> *cells = nullptr;
    const Route r = route(*w, &cells);
    if (r == Route::Disabled) {
        if (own_thread && (epoch & 1)) {
            // Inline adds of a disabled base go to the writer's sink and return SONDE_DISABLED
            // until the base records again (enabling changes the epoch).
            c->target_ = reinterpret_cast<int64_t *>(&w->sink);
            c->expect_ = epoch ^ owner;
        }
        return SONDE_DISABLED;
    }
    std::atomic<int64_t> &cell = cells[c->cell_];
    add_routed(r, cell, delta);
    if (r == Route::Own) {
        // route() may have armed the writer just now: take the epoch that goes with it.
        const uint64_t now = w->epoch.load(std::memory_order_acquire);
        if (!(now & 1) && w->fast_cells.load(std::memory_order_acquire) == cells) {
            c->target_ = reinterpret_cast<int64_t *>(&cell);
            c->expect_ = now ^ owner;
        }
    } else {
        c->expect_ = 0;  // shared row or foreign thread: every add comes here (fetch_add)
    }
    return SONDE_OK;
}

}  // namespace sonde::api
