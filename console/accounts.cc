#include "accounts.hpp"

#include <algorithm>
#include <set>

#include "config.hpp"
#include "files.hpp"
#include "log.hpp"
#include "password.hpp"
#include "snapshot/console.hpp"
#include "web/menus.hpp"

namespace sonde::console {
namespace {

// Portable but for the audit log's key. Booleans and times are integers in both.
constexpr const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS collectivites (
  id TEXT PRIMARY KEY, name TEXT NOT NULL,
  logo_type TEXT NOT NULL DEFAULT '', logo TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS establishments (
  uai TEXT PRIMARY KEY, name TEXT NOT NULL, commune TEXT NOT NULL, timezone TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collectivite_establishments (
  collectivite TEXT NOT NULL REFERENCES collectivites(id) ON DELETE CASCADE,
  uai TEXT NOT NULL REFERENCES establishments(uai) ON DELETE CASCADE,
  PRIMARY KEY (collectivite, uai));
CREATE TABLE IF NOT EXISTS users (
  email TEXT PRIMARY KEY,
  collectivite TEXT NOT NULL REFERENCES collectivites(id) ON DELETE CASCADE,
  name TEXT NOT NULL, first_name TEXT NOT NULL, administrator INTEGER NOT NULL,
  password_hash TEXT NOT NULL DEFAULT '', failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS user_establishments (
  email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE, uai TEXT NOT NULL,
  PRIMARY KEY (email, uai));
CREATE TABLE IF NOT EXISTS user_categories (
  email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE, category TEXT NOT NULL,
  PRIMARY KEY (email, category));
CREATE TABLE IF NOT EXISTS account_tokens (
  hash TEXT PRIMARY KEY, email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  kind TEXT NOT NULL, expires_unix BIGINT NOT NULL, used_unix BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
  hash TEXT PRIMARY KEY, email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  created_unix BIGINT NOT NULL, last_seen_unix BIGINT NOT NULL);
)sql";

constexpr const char *kAuditSqlite =
    "CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at_unix BIGINT "
    "NOT NULL, collectivite TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail "
    "TEXT NOT NULL)";
constexpr const char *kAuditPostgres =
    "CREATE TABLE IF NOT EXISTS audit_log (id BIGSERIAL PRIMARY KEY, at_unix BIGINT NOT NULL, "
    "collectivite TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT "
    "NULL)";

std::string num(int64_t v) { return std::to_string(v); }

int64_t to_int(const SqlDb::Value &v) {
    if (!v || v->empty()) return 0;
    try {
        return std::stoll(*v);
    } catch (...) {
        return 0;
    }
}

std::string text(const SqlDb::Value &v) { return v.value_or(""); }

}  // namespace

const std::vector<Category> &category_tree() {
    // The pages' menu tree (console/web/menus.cc): its widget ids are the categories. A menu
    // whose one widget has the menu's own id is a leaf; Connexions is always visible.
    static const std::vector<Category> tree = [] {
        std::vector<Category> t;
        for (const web::Menu &m : web::menus()) {
            if (m.id == kAlwaysVisibleMenu) continue;
            t.push_back({m.id, m.label, true});
            for (const web::Widget &w : m.widgets)
                if (w.id != m.id) t.push_back({w.id, w.label, false});
        }
        return t;
    }();
    return tree;
}

std::vector<std::string> all_category_leaves() {
    std::vector<std::string> out;
    const auto &tree = category_tree();
    for (size_t i = 0; i < tree.size(); ++i) {
        const bool has_widgets = tree[i].menu && i + 1 < tree.size() && !tree[i + 1].menu;
        if (!has_widgets) out.emplace_back(tree[i].id);
    }
    return out;
}

bool known_category(std::string_view id) {
    for (const Category &c : category_tree())
        if (c.id == id) return true;
    return false;
}

std::optional<std::string> normal_email(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (text.size() < 3 || text.size() > 254) return std::nullopt;
    const size_t at = text.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 >= text.size() ||
        text.find('@', at + 1) != std::string_view::npos)
        return std::nullopt;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = char(std::tolower(static_cast<unsigned char>(text[i])));
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        const bool ok = alnum || c == '.' || c == '-' ||
                        (i < at && (c == '_' || c == '%' || c == '+')) || i == at;
        if (!ok) return std::nullopt;
        out += c;
    }
    if (out.find('.', at) == std::string::npos || out.back() == '.') return std::nullopt;
    return out;
}

std::unique_ptr<Accounts> Accounts::open(const Config &config, std::string *error) {
    // The operator's commands may come before the service ever ran: the directory first.
    if (config.store == Config::StoreKind::Sqlite && !make_dirs(config.data_dir, error))
        return nullptr;
    std::unique_ptr<SqlDb> db = config.store == Config::StoreKind::Postgresql
                                    ? open_postgres_db(config.postgresql, error)
                                    : open_sqlite_db(config.data_dir + "/figures.sqlite", error);
    if (!db) return nullptr;
    auto accounts = std::make_unique<Accounts>(std::move(db));
    if (!accounts->create_schema(error)) return nullptr;
    return accounts;
}

Accounts::Accounts(std::unique_ptr<SqlDb> db) : db_(std::move(db)) {}

bool Accounts::create_schema(std::string *error) {
    std::lock_guard lock(mutex_);
    if (!db_->script(db_->begin_write(), error)) return false;
    const bool ok = (!db_->postgres() || run("SELECT pg_advisory_xact_lock(7264891035)", {},
                                             nullptr, nullptr, error)) &&
                    db_->script(kSchema, error) &&
                    db_->script(db_->postgres() ? kAuditPostgres : kAuditSqlite, error) &&
                    db_->script("COMMIT", error);
    if (!ok) db_->script("ROLLBACK", nullptr);
    return ok;
}

bool Accounts::run(const std::string &sql, const std::vector<SqlDb::Value> &params,
                   std::vector<SqlDb::Row> *rows, int64_t *changed, std::string *error) {
    std::string why;
    if (db_->exec(sql, params, rows, changed, &why)) return true;
    log(Level::Error, "accounts: " + why);
    if (error) *error = why;
    return false;
}

std::vector<std::string> Accounts::column(const std::string &sql, const std::string &param) {
    std::vector<SqlDb::Row> rows;
    std::vector<std::string> out;
    if (run(sql, {param}, &rows))
        for (const SqlDb::Row &r : rows) out.push_back(text(r.at(0)));
    return out;
}

bool Accounts::add_collectivite(const Collectivite &c, std::string *error) {
    if (c.id.empty() || c.id.size() > 32 || c.name.empty()) {
        if (error) *error = "a collectivité needs an id (at most 32 characters) and a name";
        return false;
    }
    for (char ch : c.id)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') {
            if (error) *error = "collectivité id: letters, digits, - and _ only";
            return false;
        }
    std::lock_guard lock(mutex_);
    return run(
        "INSERT INTO collectivites (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE "
        "SET name = excluded.name",
        {c.id, c.name}, nullptr, nullptr, error);
}

std::vector<Collectivite> Accounts::collectivites() {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    std::vector<Collectivite> out;
    if (run("SELECT id, name FROM collectivites ORDER BY id", {}, &rows))
        for (const auto &r : rows) out.push_back({text(r[0]), text(r[1])});
    return out;
}

std::optional<Collectivite> Accounts::collectivite(const std::string &id) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("SELECT id, name FROM collectivites WHERE id = $1", {id}, &rows) || rows.empty())
        return std::nullopt;
    return Collectivite{text(rows[0][0]), text(rows[0][1])};
}

bool Accounts::import_establishment(const Establishment &e, const std::string &collectivite,
                                    std::string *error) {
    auto fail = [&](const std::string &why) {
        if (error) *error = why;
        return false;
    };
    if (!snapshot::valid_base_id(e.uai)) return fail("bad UAI \"" + e.uai + "\"");
    if (e.name.empty()) return fail("empty name");
    if (e.timezone.empty() || e.timezone.find("..") != std::string::npos ||
        e.timezone.front() == '/')
        return fail("bad time zone \"" + e.timezone + "\"");
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!collectivite.empty()) {
        if (!run("SELECT id FROM collectivites WHERE id = $1", {collectivite}, &rows, nullptr,
                 error))
            return false;
        if (rows.empty()) return fail("no collectivité \"" + collectivite + "\"");
    }
    if (!db_->script(db_->begin_write(), error)) return false;
    const bool ok =
        run("INSERT INTO establishments (uai, name, commune, timezone) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (uai) DO UPDATE SET name = excluded.name, commune = excluded.commune, "
            "timezone = excluded.timezone",
            {e.uai, e.name, e.commune, e.timezone}, nullptr, nullptr, error) &&
        (collectivite.empty() ||
         run("INSERT INTO collectivite_establishments (collectivite, uai) VALUES ($1, $2) ON "
             "CONFLICT (collectivite, uai) DO NOTHING",
             {collectivite, e.uai}, nullptr, nullptr, error)) &&
        db_->script("COMMIT", error);
    if (!ok) db_->script("ROLLBACK", nullptr);
    return ok;
}

std::vector<Establishment> Accounts::establishments_of(const std::string &collectivite) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    std::vector<Establishment> out;
    if (run("SELECT e.uai, e.name, e.commune, e.timezone FROM establishments e JOIN "
            "collectivite_establishments m ON m.uai = e.uai WHERE m.collectivite = $1 ORDER BY "
            "e.name, e.uai",
            {collectivite}, &rows))
        for (const auto &r : rows) out.push_back({text(r[0]), text(r[1]), text(r[2]), text(r[3])});
    return out;
}

Accounts::Outcome Accounts::create_user(const User &u, std::string *error) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("SELECT email FROM users WHERE email = $1", {u.email}, &rows, nullptr, error))
        return Outcome::Failed;
    if (!rows.empty()) return Outcome::Exists;
    rows.clear();
    if (!run("SELECT id FROM collectivites WHERE id = $1", {u.collectivite}, &rows, nullptr, error))
        return Outcome::Failed;
    if (rows.empty()) return Outcome::NotFound;
    if (!db_->script(db_->begin_write(), error)) return Outcome::Failed;
    bool ok =
        run("INSERT INTO users (email, collectivite, name, first_name, administrator) "
            "VALUES ($1, $2, $3, $4, $5)",
            {u.email, u.collectivite, u.name, u.first_name, u.administrator ? "1" : "0"}, nullptr,
            nullptr, error);
    for (size_t i = 0; ok && !u.administrator && i < u.establishments.size(); ++i)
        ok =
            run("INSERT INTO user_establishments (email, uai) SELECT $1, uai FROM "
                "collectivite_establishments WHERE collectivite = $2 AND uai = $3 ON CONFLICT "
                "DO NOTHING",
                {u.email, u.collectivite, u.establishments[i]}, nullptr, nullptr, error);
    for (const std::string &c : all_category_leaves())
        if (ok)
            ok = run("INSERT INTO user_categories (email, category) VALUES ($1, $2)", {u.email, c},
                     nullptr, nullptr, error);
    if (ok) ok = db_->script("COMMIT", error);
    if (!ok) {
        db_->script("ROLLBACK", nullptr);
        return Outcome::Failed;
    }
    return Outcome::Ok;
}

std::optional<User> Accounts::user(const std::string &email) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("SELECT email, collectivite, name, first_name, administrator, password_hash FROM "
             "users WHERE email = $1",
             {email}, &rows) ||
        rows.empty())
        return std::nullopt;
    const auto &r = rows[0];
    User u{text(r[0]),        text(r[1]),          text(r[2]), text(r[3]),
           to_int(r[4]) != 0, !text(r[5]).empty(), {},         {}};
    u.establishments =
        u.administrator
            ? column(
                  "SELECT uai FROM collectivite_establishments WHERE collectivite = $1 ORDER "
                  "BY uai",
                  u.collectivite)
            : column(
                  "SELECT u.uai FROM user_establishments u JOIN users s ON s.email = u.email "
                  "JOIN collectivite_establishments m ON m.uai = u.uai AND m.collectivite = "
                  "s.collectivite WHERE u.email = $1 ORDER BY u.uai",
                  u.email);
    u.categories =
        column("SELECT category FROM user_categories WHERE email = $1 ORDER BY category", email);
    return u;
}

std::vector<User> Accounts::users_of(const std::string &collectivite) {
    std::vector<std::string> emails;
    {
        std::lock_guard lock(mutex_);
        emails = column(
            "SELECT email FROM users WHERE collectivite = $1 ORDER BY name, "
            "first_name, email",
            collectivite);
    }
    std::vector<User> out;
    for (const std::string &e : emails)
        if (auto u = user(e)) out.push_back(std::move(*u));
    return out;
}

Accounts::Outcome Accounts::set_rights(const std::string &email, bool administrator,
                                       const std::vector<std::string> &establishments,
                                       const std::vector<std::string> &categories,
                                       std::string *error) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("SELECT collectivite FROM users WHERE email = $1", {email}, &rows, nullptr, error))
        return Outcome::Failed;
    if (rows.empty()) return Outcome::NotFound;
    const std::string collectivite = text(rows[0][0]);
    if (!db_->script(db_->begin_write(), error)) return Outcome::Failed;
    bool ok =
        run("UPDATE users SET administrator = $2 WHERE email = $1",
            {email, administrator ? "1" : "0"}, nullptr, nullptr, error) &&
        run("DELETE FROM user_establishments WHERE email = $1", {email}, nullptr, nullptr, error) &&
        run("DELETE FROM user_categories WHERE email = $1", {email}, nullptr, nullptr, error);
    for (size_t i = 0; ok && i < establishments.size(); ++i)
        ok =
            run("INSERT INTO user_establishments (email, uai) SELECT $1, uai FROM "
                "collectivite_establishments WHERE collectivite = $2 AND uai = $3 ON CONFLICT "
                "DO NOTHING",
                {email, collectivite, establishments[i]}, nullptr, nullptr, error);
    for (size_t i = 0; ok && i < categories.size(); ++i)
        if (known_category(categories[i]))
            ok =
                run("INSERT INTO user_categories (email, category) VALUES ($1, $2) ON CONFLICT "
                    "DO NOTHING",
                    {email, categories[i]}, nullptr, nullptr, error);
    if (ok) ok = db_->script("COMMIT", error);
    if (!ok) {
        db_->script("ROLLBACK", nullptr);
        return Outcome::Failed;
    }
    return Outcome::Ok;
}

Accounts::Outcome Accounts::delete_user(const std::string &email, std::string *error) {
    std::lock_guard lock(mutex_);
    int64_t changed = 0;
    if (!run("DELETE FROM users WHERE email = $1", {email}, nullptr, &changed, error))
        return Outcome::Failed;
    return changed ? Outcome::Ok : Outcome::NotFound;
}

bool Accounts::set_password_hash(const std::string &email, const std::string &hash) {
    std::lock_guard lock(mutex_);
    int64_t changed = 0;
    return run("UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = 0 WHERE "
               "email = $1",
               {email, hash}, nullptr, &changed) &&
           changed == 1;
}

std::optional<std::string> Accounts::issue_token(const std::string &email, std::string_view kind,
                                                 int64_t ttl, int64_t now) {
    const std::string token = random_token();
    std::lock_guard lock(mutex_);
    if (!run("INSERT INTO account_tokens (hash, email, kind, expires_unix) VALUES ($1, $2, $3, "
             "$4)",
             {token_hash(token), email, std::string(kind), num(now + ttl)}))
        return std::nullopt;
    // Expired and used tokens are of no use: they go as new ones come.
    run("DELETE FROM account_tokens WHERE expires_unix < $1", {num(now - 86400)});
    return token;
}

std::optional<std::string> Accounts::peek_token(std::string_view token, std::string_view kind,
                                                int64_t now) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("SELECT email FROM account_tokens WHERE hash = $1 AND kind = $2 AND used_unix = 0 "
             "AND expires_unix > $3",
             {token_hash(token), std::string(kind), num(now)}, &rows) ||
        rows.empty())
        return std::nullopt;
    return text(rows[0][0]);
}

std::optional<std::string> Accounts::use_token(std::string_view token, std::string_view kind,
                                               int64_t now) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("UPDATE account_tokens SET used_unix = $3 WHERE hash = $1 AND kind = $2 AND "
             "used_unix = 0 AND expires_unix > $3 RETURNING email",
             {token_hash(token), std::string(kind), num(now)}, &rows) ||
        rows.size() != 1)
        return std::nullopt;
    return text(rows[0][0]);
}

std::optional<Accounts::LoginState> Accounts::login_state(const std::string &email, int64_t now) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("SELECT password_hash, locked_until FROM users WHERE email = $1", {email}, &rows) ||
        rows.empty())
        return std::nullopt;
    return LoginState{text(rows[0][0]), to_int(rows[0][1]) > now};
}

void Accounts::login_failed(const std::string &email, unsigned max_failures, int64_t lockout,
                            int64_t now) {
    std::lock_guard lock(mutex_);
    // The count restarts once a lock has been served.
    run("UPDATE users SET failed_logins = CASE WHEN locked_until > 0 AND locked_until <= $2 "
        "THEN 1 ELSE failed_logins + 1 END, locked_until = CASE WHEN locked_until > 0 AND "
        "locked_until <= $2 THEN 0 ELSE locked_until END WHERE email = $1",
        {email, num(now)});
    run("UPDATE users SET locked_until = $2 WHERE email = $1 AND failed_logins >= $3 AND "
        "locked_until = 0",
        {email, num(now + lockout), num(max_failures)});
}

void Accounts::login_succeeded(const std::string &email) {
    std::lock_guard lock(mutex_);
    run("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE email = $1", {email});
}

std::optional<std::string> Accounts::create_session(const std::string &email, int64_t now) {
    const std::string id = random_token();
    std::lock_guard lock(mutex_);
    if (!run("INSERT INTO sessions (hash, email, created_unix, last_seen_unix) VALUES ($1, $2, "
             "$3, $3)",
             {token_hash(id), email, num(now)}))
        return std::nullopt;
    return id;
}

std::optional<Principal> Accounts::session_principal(std::string_view session_id, int64_t idle,
                                                     int64_t lifetime, int64_t now) {
    const std::string hash = token_hash(session_id);
    std::string email;
    {
        std::lock_guard lock(mutex_);
        std::vector<SqlDb::Row> rows;
        if (!run("SELECT email, created_unix, last_seen_unix FROM sessions WHERE hash = $1", {hash},
                 &rows) ||
            rows.empty())
            return std::nullopt;
        const int64_t created = to_int(rows[0][1]), seen = to_int(rows[0][2]);
        if (now >= created + lifetime || now >= seen + idle) {
            run("DELETE FROM sessions WHERE hash = $1", {hash});
            return std::nullopt;
        }
        if (now > seen)  // one write a second at most per session
            run("UPDATE sessions SET last_seen_unix = $2 WHERE hash = $1", {hash, num(now)});
        email = text(rows[0][0]);
    }
    const std::optional<User> u = user(email);
    if (!u) return std::nullopt;
    Principal p;
    p.collectivite = u->collectivite;
    p.user = u->email;
    p.administrator = u->administrator;
    p.establishments.insert(u->establishments.begin(), u->establishments.end());
    p.categories.insert(u->categories.begin(), u->categories.end());
    return p;
}

void Accounts::end_session(std::string_view session_id) {
    std::lock_guard lock(mutex_);
    run("DELETE FROM sessions WHERE hash = $1", {token_hash(session_id)});
}

void Accounts::end_sessions_of(const std::string &email) {
    std::lock_guard lock(mutex_);
    run("DELETE FROM sessions WHERE email = $1", {email});
}

bool Accounts::set_logo(const std::string &collectivite, const std::string &content_type,
                        const std::string &bytes) {
    static const char *hex = "0123456789abcdef";
    std::string encoded;
    encoded.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        encoded += hex[c >> 4];
        encoded += hex[c & 15];
    }
    std::lock_guard lock(mutex_);
    int64_t changed = 0;
    return run("UPDATE collectivites SET logo_type = $2, logo = $3 WHERE id = $1",
               {collectivite, content_type, encoded}, nullptr, &changed) &&
           changed == 1;
}

std::optional<std::pair<std::string, std::string>> Accounts::logo(const std::string &collectivite) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    if (!run("SELECT logo_type, logo FROM collectivites WHERE id = $1", {collectivite}, &rows) ||
        rows.empty() || text(rows[0][0]).empty())
        return std::nullopt;
    const std::string encoded = text(rows[0][1]);
    std::string bytes;
    bytes.reserve(encoded.size() / 2);
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (size_t i = 0; i + 1 < encoded.size(); i += 2)
        bytes += char((nibble(encoded[i]) << 4) | nibble(encoded[i + 1]));
    return std::make_pair(text(rows[0][0]), bytes);
}

void Accounts::audit(const std::string &collectivite, const std::string &actor,
                     const std::string &action, const std::string &detail, int64_t now) {
    std::lock_guard lock(mutex_);
    run("INSERT INTO audit_log (at_unix, collectivite, actor, action, detail) VALUES ($1, $2, "
        "$3, $4, $5)",
        {num(now), collectivite, actor, action, detail});
}

std::vector<AuditRow> Accounts::audit_rows(const std::string &collectivite) {
    std::lock_guard lock(mutex_);
    std::vector<SqlDb::Row> rows;
    std::vector<AuditRow> out;
    if (run("SELECT at_unix, collectivite, actor, action, detail FROM audit_log WHERE $1 = '' "
            "OR collectivite = $1 ORDER BY id",
            {collectivite}, &rows))
        for (const auto &r : rows)
            out.push_back({to_int(r[0]), text(r[1]), text(r[2]), text(r[3]), text(r[4])});
    return out;
}

}  // namespace sonde::console
