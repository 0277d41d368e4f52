#pragma once
// A browser for the console's web pages in the tests: one libcurl handle with its cookie engine
// (cookies kept between requests, as a browser keeps them), redirects not followed (the tests
// check Location), forms posted urlencoded or multipart.

#include <string>
#include <utility>
#include <vector>

#include "service.hpp"

namespace console_test {

struct Page {
    long status = 0;
    std::string body;
    std::string location;                  // Location header
    std::vector<std::string> set_cookies;  // Set-Cookie headers, whole
    std::string content_type;
    std::string content_length;  // Content-Length header, as sent
    std::string error;           // curl's
};

using Form = std::vector<std::pair<std::string, std::string>>;

class Browser {
  public:
    explicit Browser(const Setup &setup);
    ~Browser();
    Browser(const Browser &) = delete;
    Browser &operator=(const Browser &) = delete;
    Page get(const std::string &url);
    // A HEAD request: the headers only (curl reads no body).
    Page head(const std::string &url);
    Page post(const std::string &url, const Form &form);
    // One file field (`file_field`, file name `file_name`) beside the text fields.
    Page post_file(const std::string &url, const Form &form, const std::string &file_field,
                   const std::string &file_name, const std::string &data);
    // The value of a cookie the browser holds, or "".
    std::string cookie(const std::string &name);
    // Sets a cookie as if the server had (for replaying a stolen or ended session).
    void set_cookie(const std::string &name, const std::string &value);
    void clear_cookies();

  private:
    Page perform(const std::string &url);
    void *curl_;
    std::string ca_;
};

// The hidden field "csrf" of the first form of a page, or "".
std::string csrf_of(const std::string &html);
// The token of the links to `path` ("/invitation" or "/reinitialiser") in the mails of
// DATA/outbox addressed to `email`, oldest file first.
std::vector<std::string> mailed_tokens(const std::string &data_dir, const std::string &email,
                                       const std::string &path);
// The token of the link `sonde-console users add-admin` printed.
std::string printed_token(const std::string &output);

}  // namespace console_test
