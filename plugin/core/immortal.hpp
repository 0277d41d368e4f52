#pragma once
#include <cstddef>
#include <new>

namespace sonde {

// Storage for process-wide objects that must never be destroyed: a host may exit() while
// the plugin's watcher thread still runs, and running static destructors under it would
// crash the host on its way out. The objects are built at load time and simply left alone.
template <typename T, size_t N = 1>
class Immortal {
  public:
    Immortal() {
        for (size_t i = 0; i < N; ++i) new (bytes_ + i * sizeof(T)) T();
    }
    T *data() noexcept { return std::launder(reinterpret_cast<T *>(bytes_)); }
    T &operator*() noexcept { return *data(); }
    T *operator->() noexcept { return data(); }

  private:
    alignas(T) unsigned char bytes_[sizeof(T) * N];
};

}  // namespace sonde
