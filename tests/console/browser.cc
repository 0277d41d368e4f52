#include "browser.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace console_test {
namespace fs = std::filesystem;

namespace {

size_t collect(char *data, size_t size, size_t n, void *user) {
    static_cast<std::string *>(user)->append(data, size * n);
    return size * n;
}

size_t header_line(char *data, size_t size, size_t n, void *user) {
    Page &p = *static_cast<Page *>(user);
    std::string line(data, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (strcasecmp(name.c_str(), "Location") == 0) p.location = value;
        if (strcasecmp(name.c_str(), "Set-Cookie") == 0) p.set_cookies.push_back(value);
        if (strcasecmp(name.c_str(), "Content-Type") == 0) p.content_type = value;
        if (strcasecmp(name.c_str(), "Content-Length") == 0) p.content_length = value;
    }
    return size * n;
}

std::string encode(CURL *c, const Form &form) {
    std::string out;
    for (const auto &[k, v] : form) {
        char *ek = curl_easy_escape(c, k.c_str(), int(k.size()));
        char *ev = curl_easy_escape(c, v.c_str(), int(v.size()));
        out += (out.empty() ? "" : "&") + std::string(ek) + "=" + ev;
        curl_free(ek);
        curl_free(ev);
    }
    return out;
}

}  // namespace

Browser::Browser(const Setup &setup) : curl_(curl_easy_init()), ca_(setup.cert) {
    REQUIRE(curl_);
    curl_easy_setopt(static_cast<CURL *>(curl_), CURLOPT_COOKIEFILE, "");  // cookie engine on
}

Browser::~Browser() { curl_easy_cleanup(static_cast<CURL *>(curl_)); }

Page Browser::perform(const std::string &url) {
    CURL *c = static_cast<CURL *>(curl_);
    Page p;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_.c_str());
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);  // hang guard
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &p.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &p);
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) p.error = curl_easy_strerror(rc);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p.status);
    // The next request starts from a clean method (the cookie engine keeps its cookies).
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, nullptr);
    return p;
}

Page Browser::get(const std::string &url) {
    curl_easy_setopt(static_cast<CURL *>(curl_), CURLOPT_HTTPGET, 1L);
    return perform(url);
}

Page Browser::head(const std::string &url) {
    curl_easy_setopt(static_cast<CURL *>(curl_), CURLOPT_NOBODY, 1L);
    return perform(url);
}

Page Browser::post(const std::string &url, const Form &form) {
    CURL *c = static_cast<CURL *>(curl_);
    const std::string body = encode(c, form);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(body.size()));
    curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body.c_str());
    return perform(url);
}

Page Browser::post_file(const std::string &url, const Form &form, const std::string &file_field,
                        const std::string &file_name, const std::string &data) {
    CURL *c = static_cast<CURL *>(curl_);
    curl_mime *mime = curl_mime_init(c);
    for (const auto &[k, v] : form) {
        curl_mimepart *part = curl_mime_addpart(mime);
        curl_mime_name(part, k.c_str());
        curl_mime_data(part, v.data(), v.size());
    }
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, file_field.c_str());
    curl_mime_filename(part, file_name.c_str());
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data(part, data.data(), data.size());
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    Page p = perform(url);
    curl_mime_free(mime);
    return p;
}

std::string Browser::cookie(const std::string &name) {
    curl_slist *list = nullptr;
    curl_easy_getinfo(static_cast<CURL *>(curl_), CURLINFO_COOKIELIST, &list);
    std::string value;
    for (curl_slist *l = list; l; l = l->next) {
        // Netscape format: domain, flag, path, secure, expiry, name, value (tabs).
        std::vector<std::string> f;
        std::stringstream s(l->data);
        for (std::string item; std::getline(s, item, '\t');) f.push_back(item);
        if (f.size() >= 7 && f[5] == name) value = f[6];
    }
    curl_slist_free_all(list);
    return value;
}

void Browser::set_cookie(const std::string &name, const std::string &value) {
    const std::string line = "127.0.0.1\tFALSE\t/\tTRUE\t0\t" + name + "\t" + value;
    curl_easy_setopt(static_cast<CURL *>(curl_), CURLOPT_COOKIELIST, line.c_str());
}

void Browser::clear_cookies() {
    curl_easy_setopt(static_cast<CURL *>(curl_), CURLOPT_COOKIELIST, "ALL");
}

std::string csrf_of(const std::string &html) {
    static const std::regex re("name=\"csrf\" value=\"([^\"]+)\"");
    std::smatch m;
    return std::regex_search(html, m, re) ? m[1].str() : "";
}

std::vector<std::string> mailed_tokens(const std::string &data_dir, const std::string &email,
                                       const std::string &path) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto &f : fs::directory_iterator(data_dir + "/outbox", ec))
        if (f.path().extension() == ".eml") files.push_back(f.path().string());
    // Oldest first: the name starts with the time; same second, the modification order.
    std::sort(files.begin(), files.end(), [](const std::string &a, const std::string &b) {
        return fs::last_write_time(a) < fs::last_write_time(b);
    });
    std::vector<std::string> out;
    const std::regex re(path + "\\?token=([A-Za-z0-9_-]{43})");
    for (const std::string &file : files) {
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        const std::string t = text.str();
        if (t.find("To: " + email + "\r\n") == std::string::npos) continue;
        std::smatch m;
        if (std::regex_search(t, m, re)) out.push_back(m[1].str());
    }
    return out;
}

std::string printed_token(const std::string &output) {
    static const std::regex re("/invitation\\?token=([A-Za-z0-9_-]{43})");
    std::smatch m;
    return std::regex_search(output, m, re) ? m[1].str() : "";
}

}  // namespace console_test
