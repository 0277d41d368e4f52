// sonde.dll's entry point does nothing (issue 10): the loader lock is held here, so no thread
// is started or joined and no file is touched; each base's worker starts in base_open and
// stops in base_close, as on Linux. Compiled for Windows only (plugin/CMakeLists.txt).
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

extern "C" BOOL WINAPI DllMain(HINSTANCE, DWORD, LPVOID) { return TRUE; }
