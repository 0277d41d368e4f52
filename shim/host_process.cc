#include "host_process.hpp"

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <chrono>
#include <cstdlib>
#include <thread>

namespace sonde::shim {

std::string self_path() {
#if defined(_WIN32)
    char path[MAX_PATH * 2];
    const DWORD n = GetModuleFileNameA(nullptr, path, sizeof path);
    return n > 0 && n < sizeof path ? std::string(path, n) : std::string();
#else
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path);
    return n > 0 && size_t(n) < sizeof path ? std::string(path, size_t(n)) : std::string();
#endif
}

#if defined(_WIN32)

namespace {

// One argument quoted as CommandLineToArgvW and the C runtime read it back.
void append_quoted(std::string &cmd, const std::string &arg) {
    cmd += '"';
    size_t backslashes = 0;
    for (char ch : arg) {
        if (ch == '\\') {
            ++backslashes;
            continue;
        }
        cmd.append(ch == '"' ? 2 * backslashes + 1 : backslashes, '\\');
        backslashes = 0;
        cmd += ch;
    }
    cmd.append(2 * backslashes, '\\');
    cmd += '"';
}

using NtProcessFn = LONG(NTAPI *)(HANDLE);

NtProcessFn ntdll_function(const char *name) {
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll ? reinterpret_cast<NtProcessFn>(
                       reinterpret_cast<void *>(GetProcAddress(ntdll, name)))
                 : nullptr;
}

}  // namespace

HostProcess::HostProcess(const std::string &program, const std::vector<std::string> &args,
                         const Options &options) {
    // The child's ends are inheritable only for the time of CreateProcess, and closed in the
    // test right after: a host started later never holds another's pipe open. The test's ends
    // are never inheritable.
    SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
    HANDLE child_in = nullptr, child_out = nullptr, in = nullptr, out = nullptr;
    if (!CreatePipe(&child_in, &in, &sa, 0)) return;
    if (!CreatePipe(&out, &child_out, &sa, 0)) {
        CloseHandle(child_in);
        CloseHandle(in);
        return;
    }
    SetHandleInformation(in, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(out, HANDLE_FLAG_INHERIT, 0);
    in_ = in;
    out_ = out;
    std::string cmd;
    append_quoted(cmd, program);
    for (const std::string &a : args) {
        cmd += ' ';
        append_quoted(cmd, a);
    }
    // The environment: the test's, with the options' variables set for the time of the call
    // (tests start their hosts from one thread).
    std::vector<std::pair<std::string, std::string>> saved;
    for (const auto &[name, value] : options.env) {
        char old[4096];
        const DWORD n = GetEnvironmentVariableA(name.c_str(), old, sizeof old);
        saved.emplace_back(name, n > 0 && n < sizeof old ? std::string(old, n) : std::string());
        SetEnvironmentVariableA(name.c_str(), value.c_str());
    }
    STARTUPINFOA si{};
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = child_in;
    si.hStdOutput = child_out;
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi{};
    started_ = CreateProcessA(nullptr, cmd.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si,
                              &pi) != 0;
    for (const auto &[name, value] : saved)
        SetEnvironmentVariableA(name.c_str(), value.empty() ? nullptr : value.c_str());
    CloseHandle(child_in);
    CloseHandle(child_out);
    if (!started_) {
        close_pipes();
        return;
    }
    CloseHandle(pi.hThread);
    process_ = pi.hProcess;
    pid_ = pi.dwProcessId;
}

HostProcess::~HostProcess() {
    if (started_ && !ended_) {
        kill();
        wait();
    }
    close_pipes();
    if (process_) CloseHandle(static_cast<HANDLE>(process_));
}

void HostProcess::close_pipes() {
    if (in_) CloseHandle(static_cast<HANDLE>(in_));
    if (out_) CloseHandle(static_cast<HANDLE>(out_));
    in_ = out_ = nullptr;
}

bool HostProcess::read_line(std::string &line) {
    line.clear();
    char ch = 0;
    DWORD got = 0;
    bool any = false;
    while (out_ && ReadFile(static_cast<HANDLE>(out_), &ch, 1, &got, nullptr) && got == 1) {
        any = true;
        if (ch == '\n') break;
        line += ch;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return any;
}

bool HostProcess::send_line(const std::string &line) {
    const std::string text = line + "\n";
    DWORD put = 0;
    return in_ &&
           WriteFile(static_cast<HANDLE>(in_), text.data(), DWORD(text.size()), &put, nullptr) &&
           put == text.size();
}

int HostProcess::wait(int timeout_ms) {
    if (!started_) return -1;
    if (ended_) return status_;
    if (WaitForSingleObject(static_cast<HANDLE>(process_), DWORD(timeout_ms)) != WAIT_OBJECT_0) {
        kill();
        WaitForSingleObject(static_cast<HANDLE>(process_), INFINITE);
        killed_ = true;
    }
    DWORD code = 0;
    GetExitCodeProcess(static_cast<HANDLE>(process_), &code);
    ended_ = true;
    status_ = killed_ ? -1 : int(code);
    return status_;
}

bool HostProcess::try_wait(int &status) {
    if (!started_) return false;
    if (!ended_ && WaitForSingleObject(static_cast<HANDLE>(process_), 0) != WAIT_OBJECT_0)
        return false;
    status = wait();
    return true;
}

void HostProcess::kill() {
    if (!started_ || ended_) return;
    killed_ = true;
    TerminateProcess(static_cast<HANDLE>(process_), 9);
}

bool HostProcess::suspend() {
    static const NtProcessFn fn = ntdll_function("NtSuspendProcess");
    return started_ && !ended_ && fn && fn(static_cast<HANDLE>(process_)) == 0;
}

bool HostProcess::resume() {
    static const NtProcessFn fn = ntdll_function("NtResumeProcess");
    return started_ && !ended_ && fn && fn(static_cast<HANDLE>(process_)) == 0;
}

#else

HostProcess::HostProcess(const std::string &program, const std::vector<std::string> &args,
                         const Options &options) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) return;
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
        ::close(to_child[0]);
        ::close(to_child[1]);
        return;
    }
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>(program.c_str()));
    for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        for (const auto &[name, value] : options.env) ::setenv(name.c_str(), value.c_str(), 1);
        ::dup2(to_child[0], 0);  // dup2 clears close-on-exec on 0 and 1
        ::dup2(from_child[1], 1);
        ::execv(program.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    in_ = to_child[1];
    out_ = from_child[0];
    if (pid < 0) {
        close_pipes();
        return;
    }
    // A test that stops writing to a host which has ended gets EPIPE, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    started_ = true;
    pid_ = static_cast<unsigned long>(pid);
}

HostProcess::~HostProcess() {
    if (started_ && !ended_) {
        kill();
        wait();
    }
    close_pipes();
}

void HostProcess::close_pipes() {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    in_ = out_ = -1;
}

bool HostProcess::read_line(std::string &line) {
    line.clear();
    char ch = 0;
    bool any = false;
    for (;;) {
        const ssize_t n = out_ >= 0 ? ::read(out_, &ch, 1) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n != 1) break;
        any = true;
        if (ch == '\n') break;
        line += ch;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return any;
}

bool HostProcess::send_line(const std::string &line) {
    const std::string text = line + "\n";
    return in_ >= 0 && ::write(in_, text.data(), text.size()) == ssize_t(text.size());
}

namespace {

int status_of(int raw) { return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1; }

}  // namespace

int HostProcess::wait(int timeout_ms) {
    if (!started_) return -1;
    if (ended_) return status_;
    int raw = 0;
    for (int waited = 0;; waited += 5) {
        const pid_t r = ::waitpid(pid_t(pid_), &raw, WNOHANG);
        if (r == pid_t(pid_)) break;
        if (r < 0 && errno != EINTR) {
            raw = -1;
            break;
        }
        if (waited >= timeout_ms) {
            kill();
            ::waitpid(pid_t(pid_), &raw, 0);
            raw = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ended_ = true;
    status_ = raw == -1 ? -1 : status_of(raw);
    return status_;
}

bool HostProcess::try_wait(int &status) {
    if (!started_) return false;
    if (!ended_) {
        int raw = 0;
        if (::waitpid(pid_t(pid_), &raw, WNOHANG) != pid_t(pid_)) return false;
        ended_ = true;
        status_ = status_of(raw);
    }
    status = status_;
    return true;
}

void HostProcess::kill() {
    if (started_ && !ended_) ::kill(pid_t(pid_), SIGKILL);
}

bool HostProcess::suspend() { return started_ && !ended_ && ::kill(pid_t(pid_), SIGSTOP) == 0; }

bool HostProcess::resume() { return started_ && !ended_ && ::kill(pid_t(pid_), SIGCONT) == 0; }

#endif

}  // namespace sonde::shim
