#pragma once
// The population of one base, sized from the number of students with the proportions of a
// French secondary school (per 1,500 students: ~2,700 legal guardians, ~110 teachers, ~30
// staff, ~15 support workers). Every person has a stable user key such as "G-0310001A-000123".

#include <cstdint>
#include <string>
#include <vector>

#include "sonde.h"

namespace sonde::shim {

enum class SchoolKind { College, Lycee };  // collège 6EME..3EME, lycée 2NDE..TLE

struct ClassLevel {
    uint32_t slot;           // level number given to the plugin (1..)
    std::string label;       // "6EME"
    uint32_t first_student;  // students [first_student, first_student + students)
    uint32_t students;
};

struct GaugeSetting {
    uint32_t gauge, level;
    int64_t value;
};

// People are numbered 0..user_count()-1 in this order: students, guardians, support workers,
// teachers, staff, other accounts.
struct School {
    uint32_t index = 0;
    std::string uai;
    SchoolKind kind = SchoolKind::College;
    std::vector<ClassLevel> levels;
    uint32_t students = 0, guardians = 0, support_workers = 0, teachers = 0, staff = 0, others = 0;
    uint32_t staff_administrative = 0, staff_school_life = 0, staff_other = 0;  // staff = sum

    uint32_t user_count() const {
        return students + guardians + support_workers + teachers + staff + others;
    }
    sonde_profile profile_of(uint32_t user) const;
    uint32_t first_user(sonde_profile profile) const;
    uint32_t users_of(sonde_profile profile) const;
    std::string user_key(uint32_t user) const;  // "G-0310001A-000123"
    std::string student_key(uint32_t student) const { return user_key(student); }
    uint32_t student_level(uint32_t student) const;  // slot of the student's class level
    std::string kind_name() const { return kind == SchoolKind::College ? "collège" : "lycée"; }

    // The inventory that process 0 declares at start-up (gauges).
    std::vector<GaugeSetting> inventory() const;
};

std::string uai_of(uint32_t base_index);  // 0 -> 0310001A, 1 -> 0310002B, ...
// small_levels: collèges add 6EME SEGPA (12), 5EME SEGPA (14) and ULIS (10) pupils, lycées an
// ULIS (16), on top of `students` (--school-year).
School make_school(uint32_t base_index, uint32_t students, bool small_levels = false);

}  // namespace sonde::shim
