// service.hpp on Windows: Ctrl+C for a console run, and the service: StartServiceCtrlDispatcher,
// ServiceMain, the stop control, install and uninstall
// (docs/windows.md#the-uplink-as-a-windows-service).
#include <windows.h>

#include <string>

#include "service.hpp"

namespace sonde::uplink {
namespace {

std::wstring wide(const std::string &s) {
    if (s.empty()) return {};
    const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), int(s.size()), nullptr, 0);
    std::wstring w(size_t(n > 0 ? n : 0), L'\0');
    if (n > 0) MultiByteToWideChar(CP_UTF8, 0, s.data(), int(s.size()), w.data(), n);
    return w;
}

std::string last_error_text(const char *what) {
    return std::string(what) + " failed (Windows error " + std::to_string(GetLastError()) + ")";
}

// One manual-reset event per process: set by Ctrl+C or by the stop control.
HANDLE stop_event() {
    static HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    return event;
}

class EventStopWait final : public StopWait {
  public:
    bool wait(int64_t ms) override {
        const DWORD timeout = ms <= 0 ? 0 : ms >= int64_t(INFINITE) ? INFINITE - 1 : DWORD(ms);
        return WaitForSingleObject(stop_event(), timeout) == WAIT_OBJECT_0;
    }
};

BOOL WINAPI console_handler(DWORD type) {
    switch (type) {
        case CTRL_C_EVENT:
        case CTRL_BREAK_EVENT:
        case CTRL_CLOSE_EVENT:
        case CTRL_SHUTDOWN_EVENT:
            SetEvent(stop_event());
            return TRUE;
        default:
            return FALSE;
    }
}

// The service's state, shared by ServiceMain and the control handler.
SERVICE_STATUS_HANDLE g_status_handle = nullptr;
SERVICE_STATUS g_status{};
const std::function<int(StopWait &)> *g_body = nullptr;

void report(DWORD state, DWORD exit_code, DWORD wait_hint) {
    static DWORD checkpoint = 1;
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwWin32ExitCode = exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
    g_status.dwServiceSpecificExitCode = exit_code;
    g_status.dwWaitHint = wait_hint;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    g_status.dwCheckPoint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : checkpoint++;
    SetServiceStatus(g_status_handle, &g_status);
}

DWORD WINAPI control_handler(DWORD control, DWORD, void *, void *) {
    switch (control) {
        case SERVICE_CONTROL_STOP:
        case SERVICE_CONTROL_SHUTDOWN:
            // The current upload ends first (its transfer timeout bounds it).
            report(SERVICE_STOP_PENDING, 0, 130'000);
            SetEvent(stop_event());
            return NO_ERROR;
        case SERVICE_CONTROL_INTERROGATE:
            return NO_ERROR;
        default:
            return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

void WINAPI service_main(DWORD, LPWSTR *) {
    g_status_handle = RegisterServiceCtrlHandlerExW(L"sonde-uplink", control_handler, nullptr);
    if (!g_status_handle) return;
    report(SERVICE_START_PENDING, 0, 10'000);
    report(SERVICE_RUNNING, 0, 0);
    EventStopWait stop;
    const int code = (*g_body)(stop);
    report(SERVICE_STOPPED, DWORD(code), 0);
}

// The service manager's handle, closed on every path.
struct ScHandle {
    SC_HANDLE h;
    ~ScHandle() {
        if (h) CloseServiceHandle(h);
    }
};

}  // namespace

std::unique_ptr<StopWait> console_stop_wait() {
    if (!stop_event() || !SetConsoleCtrlHandler(console_handler, TRUE)) return nullptr;
    return std::make_unique<EventStopWait>();
}

int service_run(const std::function<int(StopWait &)> &body) {
    if (!stop_event()) return 1;
    g_body = &body;
    wchar_t name[] = L"sonde-uplink";
    SERVICE_TABLE_ENTRYW table[] = {{name, service_main}, {nullptr, nullptr}};
    // Returns once the service has stopped; fails at once outside the service manager.
    return StartServiceCtrlDispatcherW(table) ? 0 : 1;
}

int service_install(const std::string &config_path, const std::string &log_path,
                    const std::string &account, std::ostream &err) {
    wchar_t exe[MAX_PATH];
    const DWORD n = GetModuleFileNameW(nullptr, exe, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) {
        err << "sonde-uplink: " << last_error_text("GetModuleFileName") << "\n";
        return 1;
    }
    wchar_t config_full[MAX_PATH];
    if (GetFullPathNameW(wide(config_path).c_str(), MAX_PATH, config_full, nullptr) == 0) {
        err << "sonde-uplink: " << last_error_text("GetFullPathName") << "\n";
        return 1;
    }
    std::wstring command =
        L"\"" + std::wstring(exe) + L"\" --service --config \"" + config_full + L"\"";
    if (!log_path.empty()) {
        wchar_t log_full[MAX_PATH];
        if (GetFullPathNameW(wide(log_path).c_str(), MAX_PATH, log_full, nullptr) == 0) {
            err << "sonde-uplink: " << last_error_text("GetFullPathName") << "\n";
            return 1;
        }
        command += L" --log \"" + std::wstring(log_full) + L"\"";
    }
    const std::wstring user = wide(account.empty() ? std::string(kServiceAccount) : account);
    ScHandle manager{OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE)};
    if (!manager.h) {
        err << "sonde-uplink: " << last_error_text("OpenSCManager (run as an administrator)")
            << "\n";
        return 1;
    }
    // A virtual account (NT SERVICE\...) or LocalService has no password.
    ScHandle service{CreateServiceW(manager.h, L"sonde-uplink", L"Sonde uplink", SERVICE_ALL_ACCESS,
                                    SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                    SERVICE_ERROR_NORMAL, command.c_str(), nullptr, nullptr,
                                    L"Tcpip\0\0", user.c_str(), nullptr)};
    if (!service.h) {
        err << "sonde-uplink: " << last_error_text("CreateService") << "\n";
        return 1;
    }
    SERVICE_DESCRIPTIONW description{const_cast<wchar_t *>(
        L"Uploads Sonde's sealed statistics snapshots to the Console territoriale over HTTPS.")};
    ChangeServiceConfig2W(service.h, SERVICE_CONFIG_DESCRIPTION, &description);
    // Restarted 60 s after a failure (a crash, or an exit code other than 0).
    SC_ACTION restart{SC_ACTION_RESTART, 60'000};
    SERVICE_FAILURE_ACTIONSW failure{86400, nullptr, nullptr, 1, &restart};
    ChangeServiceConfig2W(service.h, SERVICE_CONFIG_FAILURE_ACTIONS, &failure);
    err << "sonde-uplink: service installed (account "
        << (account.empty() ? kServiceAccount : account)
        << "); start it with: net start sonde-uplink\n";
    return 0;
}

int service_uninstall(std::ostream &err) {
    ScHandle manager{OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT)};
    if (!manager.h) {
        err << "sonde-uplink: " << last_error_text("OpenSCManager (run as an administrator)")
            << "\n";
        return 1;
    }
    ScHandle service{
        OpenServiceW(manager.h, L"sonde-uplink", SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE)};
    if (!service.h) {
        err << "sonde-uplink: " << last_error_text("OpenService") << "\n";
        return 1;
    }
    SERVICE_STATUS status{};
    if (ControlService(service.h, SERVICE_CONTROL_STOP, &status)) {
        for (int i = 0; i < 150 && QueryServiceStatus(service.h, &status) &&
                        status.dwCurrentState != SERVICE_STOPPED;
             ++i)
            Sleep(200);
    }
    if (!DeleteService(service.h)) {
        err << "sonde-uplink: " << last_error_text("DeleteService") << "\n";
        return 1;
    }
    err << "sonde-uplink: service removed\n";
    return 0;
}

}  // namespace sonde::uplink
