// WeasyPrint as a bounded subprocess (pdf.hpp).
#include "pdf.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "files.hpp"

namespace sonde::console {
namespace {

std::atomic<unsigned> running{0};

bool write_all(const std::string &path, const std::string &data) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            return false;
        }
        done += size_t(n);
    }
    return ::close(fd) == 0;
}

// The working directory and its files, removed whatever happens.
struct WorkDir {
    std::string path;
    ~WorkDir() {
        if (path.empty()) return;
        for (const char *f : {"/page.html", "/page.pdf", "/log.txt"}) ::unlink((path + f).c_str());
        ::rmdir(path.c_str());
    }
};

}  // namespace

PdfResult html_to_pdf(const std::string &html, const PdfOptions &options, std::string &pdf,
                      std::string *error) {
    auto fail = [&](const std::string &what) {
        if (error) *error = what;
        return PdfResult::Failed;
    };
    pdf.clear();
    if (running.fetch_add(1) >= options.max_concurrent) {
        running.fetch_sub(1);
        if (error) *error = "too many PDF exports at once";
        return PdfResult::Busy;
    }
    struct Slot {
        ~Slot() { running.fetch_sub(1); }
    } slot;
    WorkDir dir;
    std::string templ = options.temp_dir + "/sonde-pdf-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data()))
        return fail("cannot make a temporary directory in " + options.temp_dir + ": " +
                    std::strerror(errno));
    dir.path = buf.data();
    const std::string in = dir.path + "/page.html", out = dir.path + "/page.pdf",
                      log = dir.path + "/log.txt";
    if (!write_all(in, html)) return fail("cannot write " + in);

    // Everything the child needs, made before fork (the child only calls async-signal-safe
    // functions until execve).
    const std::string base_url = "--base-url=file://" + dir.path + "/";
    std::vector<std::string> args = {options.program, "--quiet", "--encoding=utf-8",
                                     base_url,        in,        out};
    std::vector<char *> argv;
    for (std::string &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = {"PATH=/usr/bin:/bin",
                                    "HOME=" + dir.path,
                                    "LANG=C.UTF-8",
                                    "XDG_CACHE_HOME=" + dir.path,
                                    "TMPDIR=" + dir.path,
                                    "http_proxy=http://127.0.0.1:9",
                                    "https_proxy=http://127.0.0.1:9"};
    std::vector<char *> envp;
    for (std::string &e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const rlimit fsize{rlim_t(options.max_bytes), rlim_t(options.max_bytes)};
    const rlimit as{rlim_t(options.max_memory), rlim_t(options.max_memory)};
    const rlimit cpu{rlim_t(options.timeout_seconds), rlim_t(options.timeout_seconds + 1)};
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) {
        if (log_fd >= 0) ::close(log_fd);
        if (null_fd >= 0) ::close(null_fd);
        return fail("cannot open the converter's log");
    }

    // Descriptors the service holds without close-on-exec (sockets among them) must not reach
    // the converter: the child closes every one above 2.
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    const int max_fd = open_max > 0 && open_max < (1 << 20) ? int(open_max) : (1 << 16);

    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setpgid(0, 0);
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::setrlimit(RLIMIT_FSIZE, &fsize);
        ::setrlimit(RLIMIT_AS, &as);
        ::setrlimit(RLIMIT_CPU, &cpu);
        const rlimit nocore{0, 0};
        ::setrlimit(RLIMIT_CORE, &nocore);
        if (::close_range(3, ~0u, 0) != 0)
            for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
        if (::chdir(dir.path.c_str()) != 0) ::_exit(126);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));

    // Wait, at most the timeout; then the whole process group goes.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
    int status = 0;
    bool timed_out = false;
    for (auto pause = std::chrono::milliseconds(5);;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return fail(std::string("waitpid: ") + std::strerror(errno));
        if (std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(100));
    }
    ::kill(-pid, SIGKILL);  // anything it left behind in its group
    if (timed_out)
        return fail("PDF converter timed out after " + std::to_string(options.timeout_seconds) +
                    " s");
    auto log_text = [&] {
        std::vector<uint8_t> bytes;
        read_file(log, bytes, 2000);
        std::string s(bytes.begin(), bytes.end());
        for (char &c : s)
            if (c == '\n' || c == '\r') c = ' ';
        return s;
    };
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return fail("PDF converter " + options.program +
                    " cannot be run (is weasyprint installed?)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("PDF converter failed (" +
                    (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                       : "signal " + std::to_string(WTERMSIG(status))) +
                    "): " + log_text());
    std::vector<uint8_t> bytes;
    if (!read_file(out, bytes, options.max_bytes))
        return fail("PDF missing or over " + std::to_string(options.max_bytes) + " bytes");
    pdf.assign(bytes.begin(), bytes.end());
    if (!pdf.starts_with("%PDF")) {
        pdf.clear();
        return fail("the converter's output is not a PDF");
    }
    return PdfResult::Ok;
}

}  // namespace sonde::console
