#include "scenario.hpp"

#include <algorithm>
#include <array>

#include "rng.hpp"

namespace sonde::shim {
namespace {

using Profile24 = std::array<double, 24>;

// Relative activity per local hour: peaks before school (7-8h), at lunch (12-13h) and in the
// evening (17-21h); little at night. Weekends are flatter and later.
constexpr Profile24 kFamilyWeekday = {0.2, 0.1, 0.05, 0.05, 0.05, 0.2, 1.5, 5,   4, 2,   1.5, 2,
                                      4.5, 4,   1.5,  1.5,  2.5,  5,   6,   6.5, 6, 4.5, 2,   0.8};
constexpr Profile24 kStudentWeekday = {0.1, 0.05, 0.02, 0.02, 0.02, 0.1, 1, 4.5, 1.5, 1, 1.5, 1,
                                       4,   3.5,  1,    1,    2.5,  5,   6, 5.5, 5,   4, 2,   0.6};
constexpr Profile24 kTeacherWeekday = {0.05, 0.02, 0.01, 0.01, 0.02, 0.1, 1, 5, 4, 3, 3.5, 3,
                                       4,    3.5,  3,    3,    3.5,  4,   3, 2, 3, 3, 1.5, 0.3};
constexpr Profile24 kStaffWeekday = {0, 0, 0, 0, 0, 0.05, 0.5, 4,   6,   5, 5, 5,
                                     2, 4, 5, 5, 4, 3,    1,   0.3, 0.1, 0, 0, 0};
constexpr Profile24 kWeekend = {0.3, 0.15, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 2.5, 3, 3,
                                2.5, 2,    2,    2.5,  2.8,  3,   3.5, 4,   4,   3.5, 2, 0.8};

// Connections per person per day: weights of 0, 1, 2... connections.
struct ConnectionHabits {
    std::vector<double> weekday, weekend;
    std::array<double, 3> medium;  // client, web, mobile
};
// Indexed by sonde_profile. Guardians ~2/day, teachers 3-5 (mostly the heavy client),
// students ~1 on school days, staff on the client; more than half of web use is mobile.
const ConnectionHabits kHabits[SONDE_PROFILE_END_] = {
    {},
    {{0.15, 0.6, 0.25}, {0.55, 0.35, 0.1}, {0, 0.42, 0.58}},                  // student
    {{0.12, 0.25, 0.3, 0.2, 0.13}, {0.35, 0.35, 0.2, 0.1}, {0, 0.38, 0.62}},  // guardian
    {{0.25, 0.5, 0.25}, {0.95, 0.05}, {0, 0.5, 0.5}},                         // support worker
    {{0, 0, 0, 1, 1, 1}, {0.35, 0.4, 0.25}, {0.65, 0.15, 0.2}},               // teacher
    {{0.05, 0.15, 0.35, 0.3, 0.15}, {0.9, 0.1}, {0.85, 0.1, 0.05}},           // staff
    {{0.8, 0.2}, {0.97, 0.03}, {0, 1, 0}},                                    // other
};
constexpr double kEntUsers = 0.35;     // people who usually come through the ENT portal
constexpr double kStickyMedium = 0.8;  // share of connections on a person's usual medium

enum class Delta : uint8_t { One, ClassMarks, WithRecipients };
enum class Actor : uint8_t { Teacher, Student, Family, Staff };

struct ContentRate {
    sonde_event event;
    double weekday, weekend;   // per day for 1,500 students
    double unspecified_level;  // share recorded at level 0 (whole school, staff only)
    Delta delta;
    Actor actor;
};

// School life in a day of a 1,500-student school.
constexpr ContentRate kContent[] = {
    {SONDE_EV_INFORMATION_PUBLISHED, 8, 1, 0.4, Delta::One, Actor::Staff},
    {SONDE_EV_AGENDA_EVENT_CREATED, 3, 0.2, 0.5, Delta::One, Actor::Staff},
    {SONDE_EV_MASS_EMAIL_SENT, 0.8, 0, 0.5, Delta::One, Actor::Staff},
    {SONDE_EV_MAILEVA_LETTER_SENT, 0.4, 0, 0, Delta::One, Actor::Staff},
    {SONDE_EV_MESSAGE_SENT, 620, 180, 0.15, Delta::WithRecipients, Actor::Family},
    {SONDE_EV_DISCUSSION_OPENED, 150, 40, 0.1, Delta::One, Actor::Family},
    {SONDE_EV_POLL_PUBLISHED, 0.5, 0, 0.5, Delta::One, Actor::Staff},
    {SONDE_EV_ASSESSMENT_GRADED, 22, 6, 0, Delta::ClassMarks, Actor::Teacher},
    {SONDE_EV_ASSESSMENT_SKILLS, 14, 3, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_ASSESSMENT_SUBJECT_SHARED, 5, 1, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_ASSESSMENT_CORRECTION_SHARED, 3, 1, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_LOGBOOK_LESSON_CONTENT, 420, 20, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_LOGBOOK_HOMEWORK, 260, 30, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_LOGBOOK_HOMEWORK_ONLINE_HANDIN, 18, 2, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_WEBSITE_SHARED, 2, 0.2, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_FORUM_CREATED, 0.3, 0, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_QUIZ_CREATED, 3, 1, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_QUIZ_ASSIGNED, 5, 1, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_TEXTBOOK_ACCESS_TEACHER, 60, 15, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_TEXTBOOK_ACCESS_STUDENT, 210, 90, 0, Delta::One, Actor::Student},
    {SONDE_EV_DOCUMENT_ATTACHED_FOR_STUDENTS, 85, 10, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_COPY_HANDED_IN, 55, 40, 0, Delta::One, Actor::Student},
    {SONDE_EV_CORRECTED_COPY_RETURNED, 28, 12, 0, Delta::One, Actor::Teacher},
    {SONDE_EV_WORK_REQUEST_MAINTENANCE, 2, 0.1, 1, Delta::One, Actor::Staff},
    {SONDE_EV_WORK_REQUEST_IT, 1.5, 0, 1, Delta::One, Actor::Staff},
    {SONDE_EV_WORK_REQUEST_SECRETARIAL, 1, 0, 1, Delta::One, Actor::Staff},
};

// Discipline per school day for 1,500 students (absences and late arrivals are drawn per
// student, see below).
struct DisciplineRate {
    sonde_tally tally;
    double per_day;
    double correction;  // share later cancelled with a negative delta (entered by mistake)
};
constexpr DisciplineRate kDiscipline[] = {
    {SONDE_TALLY_PUNISHMENT, 9, 0.03},
    {SONDE_TALLY_SANCTION, 1.5, 0},
    {SONDE_TALLY_INCIDENT, 2.5, 0.05},
    {SONDE_TALLY_CLASS_EXCLUSION, 2, 0},
    {SONDE_TALLY_PRECAUTIONARY_MEASURE, 0.15, 0},
};

// Who tends to be absent, late, or punished: fixed per student for the whole run.
struct StudentHabits {
    bool chronic_absent, chronic_late, troublemaker;
};
struct UserHabits {
    uint8_t medium;  // usual sonde_medium
    bool via_ent;
};

class DayBuilder {
  public:
    DayBuilder(const School &school, const SimDay &day, uint32_t processes, uint64_t seed,
               const std::vector<UserHabits> &users, const std::vector<StudentHabits> &students)
        : school_(school),
          day_(day),
          processes_(processes),
          rng_(seed),
          users_(users),
          students_(students),
          scale_(school.students / 1500.0) {}

    std::vector<Action> build() {
        connections();
        content();
        if (!day_.weekend()) {
            attendance();
            discipline();
            gauge_of_the_day();
        }
        std::stable_sort(out_.begin(), out_.end(),
                         [](const Action &a, const Action &b) { return a.at < b.at; });
        return std::move(out_);
    }

  private:
    // A local instant of the day from an hour profile, stretched over the real length of the
    // day (23 or 25 hours on DST days) so that it always stays inside the day.
    int64_t at_hour(const Profile24 &profile) {
        const uint32_t hour = rng_.weighted(profile);
        return at_seconds(hour * 3600 + rng_.below(3600));
    }
    int64_t at_seconds(uint32_t local_seconds) {
        return day_.start + int64_t(local_seconds) * (day_.end - day_.start) / 86400;
    }
    int64_t between_hours(double from, double to) {
        return at_seconds(uint32_t(from * 3600) + rng_.below(uint32_t((to - from) * 3600)));
    }
    uint16_t process() { return uint16_t(rng_.below(processes_)); }

    const Profile24 &profile_for(sonde_profile p) const {
        if (day_.weekend()) return kWeekend;
        switch (p) {
            case SONDE_PROFILE_STUDENT:
                return kStudentWeekday;
            case SONDE_PROFILE_TEACHER:
                return kTeacherWeekday;
            case SONDE_PROFILE_STAFF:
                return kStaffWeekday;
            default:
                return kFamilyWeekday;
        }
    }
    const Profile24 &profile_for(Actor a) const {
        if (day_.weekend()) return kWeekend;
        switch (a) {
            case Actor::Teacher:
                return kTeacherWeekday;
            case Actor::Student:
                return kStudentWeekday;
            case Actor::Staff:
                return kStaffWeekday;
            default:
                return kFamilyWeekday;
        }
    }

    void connections() {
        for (uint32_t user = 0; user < school_.user_count(); ++user) {
            const sonde_profile profile = school_.profile_of(user);
            const ConnectionHabits &h = kHabits[profile];
            const uint32_t n = rng_.weighted(day_.weekend() ? h.weekend : h.weekday);
            for (uint32_t i = 0; i < n; ++i) {
                Action a{};
                a.at = at_hour(profile_for(profile));
                a.kind = ActionKind::Connect;
                a.subject = user;
                a.what = uint8_t(profile);
                a.medium = rng_.chance(kStickyMedium) ? users_[user].medium
                                                      : uint8_t(1 + rng_.weighted(h.medium));
                // The heavy client never goes through the ENT portal.
                const bool ent = a.medium != SONDE_MEDIUM_CLIENT &&
                                 rng_.chance(users_[user].via_ent ? 0.9 : 0.05);
                a.access = ent ? SONDE_ACCESS_ENT : SONDE_ACCESS_DIRECT;
                a.delta = 1;
                a.process = process();
                out_.push_back(a);
            }
        }
    }

    uint8_t level_weighted_by_enrolment() {
        const uint32_t student = rng_.below(school_.students);
        return uint8_t(school_.student_level(student));
    }

    void count(int64_t at, sonde_event event, uint8_t level, int32_t delta) {
        Action a{};
        a.at = std::min(at, day_.end - 1);  // follow-ups (marks, deliveries) stay in the day
        a.kind = ActionKind::Count;
        a.what = uint8_t(event);
        a.level = level;
        a.delta = delta;
        a.process = process();
        out_.push_back(a);
    }

    void content() {
        for (const ContentRate &r : kContent) {
            const uint32_t n = rng_.poisson((day_.weekend() ? r.weekend : r.weekday) * scale_);
            for (uint32_t i = 0; i < n; ++i) {
                const int64_t at = at_hour(profile_for(r.actor));
                const uint8_t level =
                    rng_.chance(r.unspecified_level) ? 0 : level_weighted_by_enrolment();
                count(at, r.event, level, 1);
                if (r.delta == Delta::ClassMarks) {  // one mark per student of the class
                    count(at + rng_.between(60, 1800), SONDE_EV_MARK_ENTERED, level,
                          int32_t(rng_.between(18, 32)));
                } else if (r.delta == Delta::WithRecipients) {  // delivered to 1..25 mailboxes
                    const int32_t recipients = rng_.chance(0.6) ? 1 : int32_t(rng_.between(2, 25));
                    count(at + rng_.between(0, 5), SONDE_EV_MESSAGE_RECEIVED, level, recipients);
                }
            }
        }
    }

    // A correction is made in a later local hour than the entry it corrects. The replay lines
    // its hosts up only at hour boundaries, so within an hour two hosts may record in either
    // order; real time never records a correction before its entry. (On DST days the stretched
    // clock can otherwise put 16:59 and 17:00 in one local hour.)
    int64_t after_the_hour_of(int64_t entry, int64_t at) const {
        for (const int64_t h : day_.hours)
            if (h > entry) return std::max(at, h);
        return at;  // never: entries stop well before the last hour
    }

    int64_t student_event(int64_t at, sonde_tally tally, uint32_t student, int32_t delta) {
        Action a{};
        a.at = at;
        a.kind = ActionKind::Student;
        a.what = uint8_t(tally);
        a.subject = student;
        a.level = uint8_t(school_.student_level(student));
        a.delta = delta;
        a.process = process();
        out_.push_back(a);
        return at;
    }

    // Roll calls: each half-day (no lessons on Wednesday afternoon), absences are entered
    // per student; a few are cancelled later the same day (the student was there after all).
    void attendance() {
        const bool afternoon = day_.weekday != 2;
        for (uint32_t s = 0; s < school_.students; ++s) {
            const StudentHabits &h = students_[s];
            const double p_absent = h.chronic_absent ? 0.45 : 0.012;
            const bool morning_absent = rng_.chance(p_absent);
            const bool afternoon_absent = afternoon && rng_.chance(morning_absent ? 0.7 : p_absent);
            int64_t entered = day_.start;  // the latest absence entry of the student
            if (morning_absent && afternoon_absent && rng_.chance(0.4)) {
                entered = student_event(between_hours(8, 9), SONDE_TALLY_ABSENCE_HALF_DAY, s,
                                        2);  // whole day at once
            } else {
                if (morning_absent)
                    entered =
                        student_event(between_hours(8, 9), SONDE_TALLY_ABSENCE_HALF_DAY, s, 1);
                if (afternoon_absent)
                    entered = student_event(between_hours(13.5, 14.5), SONDE_TALLY_ABSENCE_HALF_DAY,
                                            s, 1);
            }
            if ((morning_absent || afternoon_absent) && rng_.chance(0.04))
                student_event(after_the_hour_of(entered, between_hours(16, 19)),
                              SONDE_TALLY_ABSENCE_HALF_DAY, s, -1);
            if (!morning_absent && rng_.chance(h.chronic_late ? 0.3 : 0.012)) {
                const int64_t late =
                    student_event(between_hours(8, 8.5), SONDE_TALLY_LATE_ARRIVAL, s, 1);
                if (rng_.chance(0.03))
                    student_event(after_the_hour_of(late, between_hours(17, 19)),
                                  SONDE_TALLY_LATE_ARRIVAL, s, -1);
            }
        }
    }

    uint32_t pick_student_for_discipline() {
        for (int tries = 0; tries < 8 && rng_.chance(0.7); ++tries) {
            const uint32_t s = rng_.below(school_.students);
            if (students_[s].troublemaker) return s;
        }
        return rng_.below(school_.students);
    }

    void discipline() {
        for (const DisciplineRate &r : kDiscipline) {
            const uint32_t n = rng_.poisson(r.per_day * scale_);
            for (uint32_t i = 0; i < n; ++i) {
                const uint32_t s = pick_student_for_discipline();
                const int64_t entered = student_event(between_hours(8.5, 17), r.tally, s, 1);
                if (rng_.chance(r.correction))
                    student_event(after_the_hour_of(entered, between_hours(17, 20)), r.tally, s,
                                  -1);
            }
        }
    }

    // The room occupancy rate is recomputed every evening by the timetable.
    void gauge_of_the_day() {
        Action a{};
        a.at = between_hours(18, 18.5);
        a.kind = ActionKind::Gauge;
        a.what = SONDE_GAUGE_ROOM_OCCUPANCY_BP;
        a.delta = int32_t(rng_.between(6500, 8400));
        a.process = 0;
        out_.push_back(a);
    }

    const School &school_;
    const SimDay &day_;
    uint32_t processes_;
    Rng rng_;
    const std::vector<UserHabits> &users_;
    const std::vector<StudentHabits> &students_;
    double scale_;
    std::vector<Action> out_;
};

}  // namespace

uint64_t BasePlan::total_actions() const {
    uint64_t n = 0;
    for (const auto &d : days) n += d.size();
    return n;
}

BasePlan plan_base(const School &school, const SimCalendar &calendar, uint32_t processes,
                   uint64_t seed) {
    const uint64_t base_seed = mix(seed, school.index);
    Rng habits_rng(mix(base_seed, 0x4841424954ULL));
    std::vector<UserHabits> users(school.user_count());
    for (uint32_t u = 0; u < users.size(); ++u) {
        const ConnectionHabits &h = kHabits[school.profile_of(u)];
        users[u] = {uint8_t(1 + habits_rng.weighted(h.medium)), habits_rng.chance(kEntUsers)};
    }
    std::vector<StudentHabits> students(school.students);
    for (StudentHabits &s : students)
        s = {habits_rng.chance(0.04), habits_rng.chance(0.03), habits_rng.chance(0.05)};

    BasePlan plan;
    plan.setup_at = calendar.days().front().start;  // the servers start at midnight
    plan.inventory = school.inventory();
    for (const SimDay &day : calendar.days()) {
        DayBuilder builder(school, day, processes, mix(base_seed, 1000 + day.index), users,
                           students);
        plan.days.push_back(builder.build());
    }
    return plan;
}

}  // namespace sonde::shim
