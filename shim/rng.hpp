#pragma once
// Deterministic randomness for the scenarios: xoshiro256** seeded through splitmix64, so a
// (seed, base, day) triple always replays the same events on any machine. Never
// std::random_device: a run must be reproducible from its --seed.

#include <cmath>
#include <cstdint>
#include <span>

namespace sonde::shim {

inline uint64_t splitmix64(uint64_t &state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Derives an independent sub-seed, e.g. mix(mix(seed, base), day).
inline uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t s = a ^ (b * 0xd1b54a32d192ed03ULL);
    return splitmix64(s);
}

class Rng {
  public:
    explicit Rng(uint64_t seed) {
        for (uint64_t &w : s_) w = splitmix64(seed);
    }

    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    uint32_t below(uint32_t n) { return n ? uint32_t((next() >> 32) * n >> 32) : 0; }
    int64_t between(int64_t lo, int64_t hi) { return lo + int64_t(below(uint32_t(hi - lo + 1))); }
    bool chance(double p) { return uniform() < p; }

    // Index drawn with probability proportional to its weight.
    uint32_t weighted(std::span<const double> weights) {
        double total = 0;
        for (double w : weights) total += w;
        double x = uniform() * total;
        for (uint32_t i = 0; i < weights.size(); ++i) {
            if (x < weights[i]) return i;
            x -= weights[i];
        }
        return uint32_t(weights.size() - 1);
    }

    // Poisson(mean), exact: Knuth's method on slices of mean <= 20 (exp(-mean) stays normal).
    uint32_t poisson(double mean) {
        uint32_t n = 0;
        while (mean > 0) {
            const double slice = mean > 20 ? 20 : mean;
            mean -= slice;
            const double limit = std::exp(-slice);
            double p = uniform();
            while (p > limit) {
                ++n;
                p *= uniform();
            }
        }
        return n;
    }

  private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace sonde::shim
