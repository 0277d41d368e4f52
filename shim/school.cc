#include "school.hpp"

#include <cstdio>

namespace sonde::shim {
namespace {

uint32_t scaled(uint32_t students, double per_1500) {
    const double v = students * per_1500 / 1500.0;
    return v < 1 ? 1 : uint32_t(v + 0.5);
}

uint32_t percent(uint32_t n, double pct) { return uint32_t(n * pct / 100.0 + 0.5); }

}  // namespace

std::string uai_of(uint32_t base_index) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%07u%c", 310001u + base_index, char('A' + base_index % 26));
    return buf;
}

School make_school(uint32_t base_index, uint32_t students, bool small_levels) {
    School s;
    s.index = base_index;
    s.uai = uai_of(base_index);
    // Every other base is a lycée, so both level sets travel through the plugin.
    s.kind = base_index % 2 == 0 ? SchoolKind::College : SchoolKind::Lycee;
    const std::vector<std::string> labels =
        s.kind == SchoolKind::College ? std::vector<std::string>{"6EME", "5EME", "4EME", "3EME"}
                                      : std::vector<std::string>{"2NDE", "1ERE", "TLE"};
    s.students = students;
    uint32_t first = 0;
    for (uint32_t i = 0; i < labels.size(); ++i) {
        const uint32_t end = uint32_t(uint64_t(students) * (i + 1) / labels.size());
        s.levels.push_back({i + 1, labels[i], first, end - first});
        first = end;
    }
    if (small_levels) {
        const std::vector<std::pair<std::string, uint32_t>> small =
            s.kind == SchoolKind::College
                ? std::vector<std::pair<std::string, uint32_t>>{{"6EME SEGPA", 12},
                                                                {"5EME SEGPA", 14},
                                                                {"ULIS", 10}}
                : std::vector<std::pair<std::string, uint32_t>>{{"ULIS", 16}};
        for (const auto &[label, n] : small) {
            s.levels.push_back({uint32_t(s.levels.size() + 1), label, first, n});
            first += n;
        }
        s.students = students = first;
    }
    s.guardians = scaled(students, 2700);
    s.teachers = scaled(students, 110);
    s.support_workers = scaled(students, 15);
    s.staff_administrative = scaled(students, 10);
    s.staff_school_life = scaled(students, 12);
    s.staff_other = scaled(students, 8);
    s.staff = s.staff_administrative + s.staff_school_life + s.staff_other;
    s.others = scaled(students, 4);  // inspectors, ENT administrators...
    return s;
}

uint32_t School::first_user(sonde_profile profile) const {
    switch (profile) {
        case SONDE_PROFILE_STUDENT:
            return 0;
        case SONDE_PROFILE_GUARDIAN:
            return students;
        case SONDE_PROFILE_SUPPORT_WORKER:
            return students + guardians;
        case SONDE_PROFILE_TEACHER:
            return students + guardians + support_workers;
        case SONDE_PROFILE_STAFF:
            return students + guardians + support_workers + teachers;
        default:
            return students + guardians + support_workers + teachers + staff;
    }
}

uint32_t School::users_of(sonde_profile profile) const {
    switch (profile) {
        case SONDE_PROFILE_STUDENT:
            return students;
        case SONDE_PROFILE_GUARDIAN:
            return guardians;
        case SONDE_PROFILE_SUPPORT_WORKER:
            return support_workers;
        case SONDE_PROFILE_TEACHER:
            return teachers;
        case SONDE_PROFILE_STAFF:
            return staff;
        default:
            return others;
    }
}

sonde_profile School::profile_of(uint32_t user) const {
    for (uint32_t p = SONDE_PROFILE_STUDENT; p < SONDE_PROFILE_END_; ++p) {
        const auto profile = sonde_profile(p);
        if (user < first_user(profile) + users_of(profile)) return profile;
    }
    return SONDE_PROFILE_OTHER;
}

std::string School::user_key(uint32_t user) const {
    static constexpr char kPrefix[] = "?SGWTPO";  // indexed by sonde_profile
    const sonde_profile p = profile_of(user);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%c-%s-%06u", kPrefix[p], uai.c_str(), user - first_user(p));
    return buf;
}

uint32_t School::student_level(uint32_t student) const {
    for (const ClassLevel &l : levels)
        if (student < l.first_student + l.students) return l.slot;
    return levels.back().slot;
}

std::vector<GaugeSetting> School::inventory() const {
    const bool lycee = kind == SchoolKind::Lycee;
    std::vector<GaugeSetting> g;
    uint32_t classes_total = 0;
    for (const ClassLevel &l : levels) {
        const uint32_t n = l.students, classes = (n + 27) / 28;
        classes_total += classes;
        g.push_back({SONDE_GAUGE_STUDENTS_ENROLLED, l.slot, n});
        g.push_back({SONDE_GAUGE_CLASSES, l.slot, classes});
        g.push_back({SONDE_GAUGE_STUDENTS_HALF_BOARD, l.slot, percent(n, lycee ? 55 : 68)});
        g.push_back({SONDE_GAUGE_STUDENTS_OUT_OF_AREA, l.slot, percent(n, 7)});
        g.push_back({SONDE_GAUGE_STUDENTS_PUBLIC_TRANSPORT, l.slot, percent(n, lycee ? 45 : 30)});
        g.push_back({SONDE_GAUGE_STUDENTS_BOARDER, l.slot, lycee ? percent(n, 6) : 0});
        g.push_back({SONDE_GAUGE_STUDENTS_SUPPORT_FOLLOWUP, l.slot, percent(n, 3)});
        g.push_back({SONDE_GAUGE_STUDENTS_DROPOUT_FOLLOWUP, l.slot, percent(n, lycee ? 2 : 1)});
        g.push_back({SONDE_GAUGE_SUPPORT_PLANS_EDUCATIONAL, l.slot, percent(n, 4)});
        g.push_back({SONDE_GAUGE_SUPPORT_PLANS_MEDICAL, l.slot, percent(n, 2)});
        g.push_back({SONDE_GAUGE_DIGITAL_TEXTBOOKS, l.slot, classes * 6});
    }
    const uint32_t girls = percent(students, 49);
    g.push_back({SONDE_GAUGE_ACCOUNTS_STUDENT_GIRL, 0, girls});
    g.push_back({SONDE_GAUGE_ACCOUNTS_STUDENT_BOY, 0, students - girls});
    g.push_back({SONDE_GAUGE_ACCOUNTS_GUARDIAN, 0, guardians});
    g.push_back({SONDE_GAUGE_ACCOUNTS_TEACHER, 0, teachers});
    g.push_back({SONDE_GAUGE_ACCOUNTS_ADMINISTRATIVE, 0, staff_administrative});
    g.push_back({SONDE_GAUGE_ACCOUNTS_SCHOOL_LIFE, 0, staff_school_life});
    g.push_back({SONDE_GAUGE_ACCOUNTS_SUPPORT_WORKER, 0, support_workers});
    g.push_back({SONDE_GAUGE_ACCOUNTS_OTHER, 0, staff_other + others});
    g.push_back({SONDE_GAUGE_STAFF_ADMINISTRATIVE, 0, staff_administrative});
    g.push_back({SONDE_GAUGE_STAFF_SCHOOL_LIFE, 0, staff_school_life});
    g.push_back({SONDE_GAUGE_STAFF_SUPPORT_WORKER, 0, support_workers});
    g.push_back({SONDE_GAUGE_STAFF_OTHER, 0, staff_other});
    g.push_back({SONDE_GAUGE_TEACHERS, 0, teachers});
    g.push_back({SONDE_GAUGE_GUARDIANS, 0, guardians});
    g.push_back({SONDE_GAUGE_ROOMS, 0, classes_total + classes_total / 5 + 8});
    g.push_back({SONDE_GAUGE_ROOM_OCCUPANCY_BP, 0, 7200});
    g.push_back({SONDE_GAUGE_USEFUL_LINKS, 0, 12});
    return g;
}

}  // namespace sonde::shim
