#pragma once
// Who is asking: the account behind a request, after authentication, and what it may read
// (chapter 3 of the Console territoriale guide, docs/console.md#rights). Every page, API call
// and export filters its queries through one of these; nothing reads figures without one.

#include <set>
#include <string>
#include <string_view>

namespace sonde::console {

// A category is a menu ("moyens-generaux") or one of its widgets ("moyens-generaux/eleves"),
// the ids of the console's menu tree (docs/console.md). "connexions" is visible to every user
// for their establishments and cannot be filtered (guide, 3.b).
inline constexpr std::string_view kAlwaysVisibleMenu = "connexions";

struct Principal {
    std::string collectivite;  // the tenant: a user sees only its establishments
    std::string user;          // the login (e-mail address)
    bool administrator = false;
    // UAIs this user may read: for an administrator, every establishment of the collectivité.
    std::set<std::string, std::less<>> establishments;
    // Granted categories (menus without widgets, and widgets); ignored for an administrator.
    std::set<std::string, std::less<>> categories;

    bool may_see_establishment(std::string_view uai) const {
        return establishments.find(uai) != establishments.end();
    }
    // A widget: granted itself or through its whole menu. A menu: granted, or one of its
    // widgets granted (the menu then shows only those widgets).
    bool may_see_category(std::string_view id) const {
        if (administrator) return true;
        const std::string_view menu = id.substr(0, id.find('/'));
        if (menu == kAlwaysVisibleMenu) return true;
        if (categories.find(id) != categories.end()) return true;
        if (categories.find(menu) != categories.end()) return true;
        if (id.find('/') == std::string_view::npos) {
            const auto it = categories.lower_bound(std::string(id) + "/");
            return it != categories.end() && it->rfind(std::string(id) + "/", 0) == 0;
        }
        return false;
    }
};

}  // namespace sonde::console
