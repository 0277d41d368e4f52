// Replays corpus files through a fuzz target without libFuzzer, so the g++ build and CI can
// run the seeds as regression tests: fuzz_x FILE...
#include <cstdint>
#include <cstdio>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        FILE *f = std::fopen(argv[i], "rb");
        if (!f) return 1;
        std::vector<uint8_t> bytes;
        int ch;
        while ((ch = std::fgetc(f)) != EOF) bytes.push_back(uint8_t(ch));
        std::fclose(f);
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    std::printf("replayed %d inputs\n", argc - 1);
    return 0;
}
