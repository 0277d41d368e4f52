// The menu tree of the Console territoriale guide (chapter 2), built on the catalogue's enums.
#include "menus.hpp"

#include "sonde_catalog.h"

namespace sonde::console::web {
namespace {

using S = Quantity::Source;
using K = Column::Kind;

constexpr uint32_t bit(uint32_t v) { return uint32_t{1} << (v - 1); }
constexpr uint32_t kAnyProfile = 0x3F, kAnyMedium = 0x7, kAnyAccess = 0x3;
constexpr uint32_t kNet = bit(SONDE_MEDIUM_WEB) | bit(SONDE_MEDIUM_MOBILE);

Quantity event(std::vector<uint32_t> ids) { return {S::Value, 1, std::move(ids), 0, 0, 0, -1}; }
Quantity tally(uint32_t id) { return {S::Value, 2, {id}, 0, 0, 0, -1}; }
Quantity gauge(std::vector<uint32_t> ids) { return {S::Gauge, 0, std::move(ids), 0, 0, 0, -1}; }
Quantity connections(uint32_t profiles, uint32_t media, uint32_t accesses = kAnyAccess) {
    return {S::Value, 3, {1}, profiles, media, accesses, -1};
}
Quantity users(uint32_t profiles, uint32_t media, uint32_t accesses) {
    return {S::Distinct, 0, {}, profiles, media, accesses, -1};
}
Quantity students(uint32_t tally_id, int b = -1) {
    return {S::Distribution, 0, {tally_id}, 0, 0, 0, b};
}

Column count(std::string id, std::string label, uint16_t ind, Quantity num, Quantity den = {}) {
    return {std::move(id), std::move(label), ind, std::move(num), std::move(den), K::Count};
}
Column ratio(std::string id, std::string label, uint16_t ind, Quantity num, Quantity den) {
    return {std::move(id), std::move(label), ind, std::move(num), std::move(den), K::Ratio};
}
Column percent(std::string id, std::string label, uint16_t ind, Quantity num, Quantity den) {
    return {std::move(id), std::move(label), ind, std::move(num), std::move(den), K::Percent};
}

const std::vector<uint32_t> kAccounts = {
    SONDE_GAUGE_ACCOUNTS_ADMINISTRATIVE, SONDE_GAUGE_ACCOUNTS_TEACHER,
    SONDE_GAUGE_ACCOUNTS_SCHOOL_LIFE,    SONDE_GAUGE_ACCOUNTS_SUPPORT_WORKER,
    SONDE_GAUGE_ACCOUNTS_OTHER,          SONDE_GAUGE_ACCOUNTS_STUDENT_GIRL,
    SONDE_GAUGE_ACCOUNTS_STUDENT_BOY,    SONDE_GAUGE_ACCOUNTS_GUARDIAN};

Menu accounts() {
    const Quantity total = gauge(kAccounts);
    const Quantity pupils =
        gauge({SONDE_GAUGE_ACCOUNTS_STUDENT_GIRL, SONDE_GAUGE_ACCOUNTS_STUDENT_BOY});
    Widget w{"comptes", "Comptes utilisateurs", {}, {}};
    w.columns = {
        count("total", "Total", 1, total),
        count("administratifs", "Administratifs", 2, gauge({SONDE_GAUGE_ACCOUNTS_ADMINISTRATIVE}),
              total),
        count("enseignants", "Enseignants", 3, gauge({SONDE_GAUGE_ACCOUNTS_TEACHER}), total),
        count("vie-scolaire", "Vie scolaire", 4, gauge({SONDE_GAUGE_ACCOUNTS_SCHOOL_LIFE}), total),
        count("accompagnants", "Accompagnants", 5, gauge({SONDE_GAUGE_ACCOUNTS_SUPPORT_WORKER}),
              total),
        count("autres", "Autres", 6, gauge({SONDE_GAUGE_ACCOUNTS_OTHER}), total),
        count("eleves", "Élèves", 7, pupils, total),
        count("filles", "Élèves filles", 7, gauge({SONDE_GAUGE_ACCOUNTS_STUDENT_GIRL}), pupils),
        count("garcons", "Élèves garçons", 7, gauge({SONDE_GAUGE_ACCOUNTS_STUDENT_BOY}), pupils),
        count("responsables", "Responsables légaux", 8, gauge({SONDE_GAUGE_ACCOUNTS_GUARDIAN}),
              total),
    };
    return {"comptes", "Comptes utilisateurs", "Comptes utilisateurs", 9, true, {w}};
}

struct ProfileInfo {
    uint32_t profile;
    const char *id, *label;
    uint16_t net_users, mobile_share;
    std::vector<uint32_t> accounts;
};
const std::vector<ProfileInfo> &profiles() {
    static const std::vector<ProfileInfo> p = {
        {SONDE_PROFILE_STUDENT,
         "eleves",
         "Élèves",
         63,
         64,
         {SONDE_GAUGE_ACCOUNTS_STUDENT_GIRL, SONDE_GAUGE_ACCOUNTS_STUDENT_BOY}},
        {SONDE_PROFILE_GUARDIAN,
         "responsables",
         "Responsables",
         65,
         66,
         {SONDE_GAUGE_ACCOUNTS_GUARDIAN}},
        {SONDE_PROFILE_SUPPORT_WORKER,
         "accompagnants",
         "Accompagnants",
         67,
         68,
         {SONDE_GAUGE_ACCOUNTS_SUPPORT_WORKER}},
        {SONDE_PROFILE_TEACHER,
         "enseignants",
         "Enseignants",
         70,
         71,
         {SONDE_GAUGE_ACCOUNTS_TEACHER}},
        {SONDE_PROFILE_STAFF,
         "personnels",
         "Personnels",
         74,
         75,
         {SONDE_GAUGE_ACCOUNTS_ADMINISTRATIVE, SONDE_GAUGE_ACCOUNTS_SCHOOL_LIFE}},
    };
    return p;
}

Menu connexions() {
    const Quantity all = connections(kAnyProfile, kAnyMedium);
    const uint32_t mobile = bit(SONDE_MEDIUM_MOBILE), client = bit(SONDE_MEDIUM_CLIENT);
    Widget auth{"connexions/authentifiees", "Connexions authentifiées", {}, {}};
    auth.columns = {
        count("total", "Total", 59, all),
        count("logiciel", "Logiciel", 60, connections(kAnyProfile, client), all),
        count("net", ".Net", 61, connections(kAnyProfile, kNet), all),
        percent("mobile", "% mobile", 62, connections(kAnyProfile, mobile),
                connections(kAnyProfile, kNet)),
    };
    Widget people{"connexions/individus", "Individus (.Net)", {}, {}};
    Widget ent{"connexions/individus-ent", "Individus par ENT (.Net)", {}, {}};
    for (const ProfileInfo &p : profiles()) {
        const uint32_t b = bit(p.profile);
        const std::string id = p.id;
        if (p.profile == SONDE_PROFILE_TEACHER) {
            auth.columns.push_back(
                count("enseignants", "Enseignants", 69, connections(b, kAnyMedium), all));
            auth.columns.push_back(count("enseignants-logiciel", "Enseignants logiciel", 72,
                                         connections(b, client), connections(b, kAnyMedium)));
        } else if (p.profile == SONDE_PROFILE_STAFF) {
            auth.columns.push_back(
                count("personnels", "Personnels", 73, connections(b, kAnyMedium), all));
            auth.columns.push_back(count("personnels-logiciel", "Personnels logiciel", 76,
                                         connections(b, client), connections(b, kAnyMedium)));
        } else {
            auth.columns.push_back(
                count(id + "-net", std::string(p.label) + " .Net", 61, connections(b, kNet), all));
        }
        auth.columns.push_back(percent(id + "-mobile", std::string(p.label) + " % mobile",
                                       p.mobile_share, connections(b, mobile),
                                       connections(b, kNet)));
        people.columns.push_back(
            count(id, p.label, p.net_users, users(b, kNet, kAnyAccess), gauge(p.accounts)));
        ent.columns.push_back(count(id, p.label, p.net_users, users(b, kNet, bit(SONDE_ACCESS_ENT)),
                                    gauge(p.accounts)));
    }
    return {"connexions", "Connexions", "Connexions", 0, true, {auth, people, ent}};
}

Menu moyens() {
    const Quantity enrolled = gauge({SONDE_GAUGE_STUDENTS_ENROLLED});
    Widget eleves{"moyens-generaux/eleves", "Élèves", {}, {}};
    eleves.columns = {
        count("total", "Élèves", 10, enrolled),
        count("demi-pension", "Demi-pension", 12, gauge({SONDE_GAUGE_STUDENTS_HALF_BOARD}),
              enrolled),
        count("internat", "Internes", 15, gauge({SONDE_GAUGE_STUDENTS_BOARDER}), enrolled),
        count("hors-secteur", "Hors secteur", 13, gauge({SONDE_GAUGE_STUDENTS_OUT_OF_AREA}),
              enrolled),
        count("transports", "Transports en commun", 14,
              gauge({SONDE_GAUGE_STUDENTS_PUBLIC_TRANSPORT}), enrolled),
    };
    eleves.levels = {
        {"eleves", "Élèves par niveau", 10, enrolled},
        {"demi-pension", "Demi-pensionnaires par niveau", 12,
         gauge({SONDE_GAUGE_STUDENTS_HALF_BOARD})},
        {"internat", "Internes par niveau", 15, gauge({SONDE_GAUGE_STUDENTS_BOARDER})},
        {"hors-secteur", "Hors secteur par niveau", 13, gauge({SONDE_GAUGE_STUDENTS_OUT_OF_AREA})},
        {"transports", "Transports en commun par niveau", 14,
         gauge({SONDE_GAUGE_STUDENTS_PUBLIC_TRANSPORT})}};
    const Quantity classes = gauge({SONDE_GAUGE_CLASSES});
    Widget cl{"moyens-generaux/classes", "Classes", {}, {}};
    cl.columns = {count("total", "Classes", 11, classes),
                  ratio("eleves-par-classe", "Élèves par classe", 11, enrolled, classes)};
    cl.levels = {{"classes", "Classes par niveau", 11, classes}};
    Widget resp{"moyens-generaux/responsables", "Responsables", {}, {}};
    resp.columns = {count("total", "Responsables légaux", 21, gauge({SONDE_GAUGE_GUARDIANS}))};
    const Quantity teachers = gauge({SONDE_GAUGE_TEACHERS});
    Widget ens{"moyens-generaux/enseignants", "Enseignants", {}, {}};
    ens.columns = {count("total", "Enseignants", 20, teachers),
                   ratio("eleves-par-enseignant", "Élèves par enseignant", 20, enrolled, teachers)};
    Widget pers{"moyens-generaux/personnels", "Personnels", {}, {}};
    pers.columns = {
        count("total", "Personnels", 16,
              gauge({SONDE_GAUGE_STAFF_ADMINISTRATIVE, SONDE_GAUGE_STAFF_SCHOOL_LIFE,
                     SONDE_GAUGE_STAFF_SUPPORT_WORKER, SONDE_GAUGE_STAFF_OTHER})),
        count("administration", "Administration", 16, gauge({SONDE_GAUGE_STAFF_ADMINISTRATIVE})),
        ratio("eleves-par-administratif", "Élèves par personnel administratif", 16, enrolled,
              gauge({SONDE_GAUGE_STAFF_ADMINISTRATIVE})),
        count("vie-scolaire", "Vie scolaire", 17, gauge({SONDE_GAUGE_STAFF_SCHOOL_LIFE})),
        ratio("eleves-par-vie-scolaire", "Élèves par personnel de vie scolaire", 17, enrolled,
              gauge({SONDE_GAUGE_STAFF_SCHOOL_LIFE})),
        count("accompagnants", "Accompagnants", 18, gauge({SONDE_GAUGE_STAFF_SUPPORT_WORKER})),
        ratio("eleves-par-accompagnant", "Élèves par accompagnant", 18, enrolled,
              gauge({SONDE_GAUGE_STAFF_SUPPORT_WORKER})),
        count("autres", "Autres personnels", 19, gauge({SONDE_GAUGE_STAFF_OTHER})),
    };
    Widget salles{"moyens-generaux/salles", "Salles", {}, {}};
    salles.columns = {count("total", "Salles", 22, gauge({SONDE_GAUGE_ROOMS})),
                      {"occupation",
                       "Occupation des salles",
                       23,
                       gauge({SONDE_GAUGE_ROOM_OCCUPANCY_BP}),
                       {},
                       K::BasisPoints}};
    return {"moyens-generaux",
            "Moyens généraux",
            "Moyens généraux",
            24,
            true,
            {eleves, cl, resp, ens, pers, salles}};
}

// The distribution of a tally: the total count, then the share of students in each bin.
void distribution_columns(Widget &w, const std::string &id, const std::string &label, uint16_t ind,
                          uint32_t t, std::vector<std::string> bins) {
    w.columns.push_back(count(id, label, ind, tally(t)));
    for (size_t b = 0; b < bins.size(); ++b)
        w.columns.push_back(percent(id + "-" + std::to_string(b), label + " : " + bins[b], ind,
                                    students(t, int(b)), students(t)));
    w.levels.push_back({id, label + " par niveau", ind, tally(t)});
}

Menu social() {
    const Quantity enrolled = gauge({SONDE_GAUGE_STUDENTS_ENROLLED});
    Widget el{"social/eleves", "Élèves", {}, {}};
    el.columns = {
        count("projets", "Projets d'accompagnement", 34,
              gauge({SONDE_GAUGE_SUPPORT_PLANS_EDUCATIONAL}), enrolled),
        count("projets-medicaux", "Projets d'accompagnement médical", 35,
              gauge({SONDE_GAUGE_SUPPORT_PLANS_MEDICAL}), enrolled),
        count("accompagnes", "Élèves accompagnés", 32,
              gauge({SONDE_GAUGE_STUDENTS_SUPPORT_FOLLOWUP}), enrolled),
        count("decrochage", "Décrochage", 33, gauge({SONDE_GAUGE_STUDENTS_DROPOUT_FOLLOWUP}),
              enrolled),
    };
    el.levels = {{"projets", "Projets d'accompagnement par niveau", 34,
                  gauge({SONDE_GAUGE_SUPPORT_PLANS_EDUCATIONAL})},
                 {"projets-medicaux", "Projets d'accompagnement médical par niveau", 35,
                  gauge({SONDE_GAUGE_SUPPORT_PLANS_MEDICAL})},
                 {"decrochage", "Décrochage par niveau", 33,
                  gauge({SONDE_GAUGE_STUDENTS_DROPOUT_FOLLOWUP})}};
    Widget as{"social/assiduite", "Assiduité", {}, {}};
    distribution_columns(as, "absences", "Demi-journées d'absence", 25,
                         SONDE_TALLY_ABSENCE_HALF_DAY,
                         {"0", "1 à 4", "5 à 9", "10 à 19", "20 et plus"});
    distribution_columns(as, "retards", "Retards", 26, SONDE_TALLY_LATE_ARRIVAL,
                         {"0", "1 à 4", "5 à 9", "10 à 19", "20 et plus"});
    Widget di{"social/discipline", "Discipline", {}, {}};
    distribution_columns(di, "sanctions", "Sanctions", 31, SONDE_TALLY_SANCTION,
                         {"0", "1 à 2", "3 à 5", "plus de 5"});
    distribution_columns(di, "punitions", "Punitions", 30, SONDE_TALLY_PUNISHMENT,
                         {"0", "1 à 2", "3 à 5", "plus de 5"});
    distribution_columns(di, "incidents", "Incidents", 28, SONDE_TALLY_INCIDENT,
                         {"0", "1 à 2", "3 à 5", "plus de 5"});
    di.columns.push_back(
        count("mesures", "Mesures conservatoires", 27, tally(SONDE_TALLY_PRECAUTIONARY_MEASURE)));
    di.columns.push_back(
        count("exclusions", "Exclusions de cours", 29, tally(SONDE_TALLY_CLASS_EXCLUSION)));
    di.levels.push_back({"mesures", "Mesures conservatoires par niveau", 27,
                         tally(SONDE_TALLY_PRECAUTIONARY_MEASURE)});
    return {"social", "Social", "Social", 36, true, {el, as, di}};
}

Menu scolarite() {
    Widget res{"scolarite/ressources", "Ressources pédagogiques", {}, {}};
    res.columns = {
        count("qcm", "QCM", 50, event({SONDE_EV_QUIZ_CREATED})),
        count("qcm-soumis", "QCM soumis", 51, event({SONDE_EV_QUIZ_ASSIGNED})),
        count("documents", "Documents", 55, event({SONDE_EV_DOCUMENT_ATTACHED_FOR_STUDENTS})),
        count("sites", "Sites Web", 48, event({SONDE_EV_WEBSITE_SHARED})),
        count("manuels", "Manuels numériques", 52, gauge({SONDE_GAUGE_DIGITAL_TEXTBOOKS})),
        count("acces-manuels-enseignants", "Accès enseignants aux manuels", 53,
              event({SONDE_EV_TEXTBOOK_ACCESS_TEACHER})),
        count("acces-manuels-eleves", "Accès élèves aux manuels", 54,
              event({SONDE_EV_TEXTBOOK_ACCESS_STUDENT})),
        count("forums", "Forums", 49, event({SONDE_EV_FORUM_CREATED})),
    };
    res.levels = {
        {"documents", "Documents par niveau", 55, event({SONDE_EV_DOCUMENT_ATTACHED_FOR_STUDENTS})},
        {"qcm", "QCM par niveau", 50, event({SONDE_EV_QUIZ_CREATED})}};
    const Quantity homework = event({SONDE_EV_LOGBOOK_HOMEWORK});
    const Quantity copies = event({SONDE_EV_COPY_HANDED_IN});
    Widget cdt{"scolarite/cahier-de-textes", "Cahier de textes", {}, {}};
    cdt.columns = {
        count("contenus", "Contenus de cours", 47, event({SONDE_EV_LOGBOOK_LESSON_CONTENT})),
        count("travail", "Travail donné", 47, homework),
        count("rendu-en-ligne", "Travail à rendre en ligne", 47,
              event({SONDE_EV_LOGBOOK_HOMEWORK_ONLINE_HANDIN}), homework),
        count("copies", "Copies remises", 56, copies),
        count("corriges", "Copies corrigées", 57, event({SONDE_EV_CORRECTED_COPY_RETURNED}),
              copies),
    };
    cdt.levels = {{"travail", "Travail donné par niveau", 47, homework},
                  {"copies", "Copies remises par niveau", 56, copies}};
    const Quantity assessments = event({SONDE_EV_ASSESSMENT_GRADED, SONDE_EV_ASSESSMENT_SKILLS});
    Widget ev{"scolarite/evaluations", "Évaluations", {}, {}};
    ev.columns = {
        count("total", "Évaluations", 46, assessments),
        count("notes", "Notes saisies", 46, event({SONDE_EV_MARK_ENTERED})),
        count("devoirs-notes", "Devoirs notés", 46, event({SONDE_EV_ASSESSMENT_GRADED}),
              assessments),
        count("competences", "Évaluations par compétences", 46, event({SONDE_EV_ASSESSMENT_SKILLS}),
              assessments),
        count("sujets", "Avec sujet déposé", 46, event({SONDE_EV_ASSESSMENT_SUBJECT_SHARED}),
              assessments),
        count("corriges", "Avec corrigé déposé", 46, event({SONDE_EV_ASSESSMENT_CORRECTION_SHARED}),
              assessments),
    };
    ev.levels = {{"evaluations", "Évaluations par niveau", 46, assessments}};
    return {"scolarite", "Scolarité", "Scolarité", 58, true, {res, cdt, ev}};
}

Menu communications() {
    Widget w{"communications", "Communications", {}, {}};
    w.columns = {
        count("discussions", "Discussions", 43, event({SONDE_EV_DISCUSSION_OPENED})),
        count("messages-envoyes", "Messages envoyés", 42, event({SONDE_EV_MESSAGE_SENT})),
        count("messages-recus", "Messages reçus", 42, event({SONDE_EV_MESSAGE_RECEIVED})),
        count("informations", "Informations", 37, event({SONDE_EV_INFORMATION_PUBLISHED})),
        count("sondages", "Sondages", 44, event({SONDE_EV_POLL_PUBLISHED})),
        count("e-mails", "E-mails", 40, event({SONDE_EV_MASS_EMAIL_SENT})),
        count("maileva", "Maileva", 41, event({SONDE_EV_MAILEVA_LETTER_SENT})),
        count("agenda", "Évènements agenda", 38, event({SONDE_EV_AGENDA_EVENT_CREATED})),
        count("liens-utiles", "Liens utiles", 39, gauge({SONDE_GAUGE_USEFUL_LINKS})),
    };
    w.levels = {
        {"messages", "Messages envoyés par niveau", 42, event({SONDE_EV_MESSAGE_SENT})},
        {"informations", "Informations par niveau", 37, event({SONDE_EV_INFORMATION_PUBLISHED})}};
    return {"communications", "Communications", "Communications", 45, false, {w}};
}

Menu travaux() {
    const Quantity total = event({SONDE_EV_WORK_REQUEST_MAINTENANCE, SONDE_EV_WORK_REQUEST_IT,
                                  SONDE_EV_WORK_REQUEST_SECRETARIAL});
    Widget w{"demandes-travaux", "Demandes de travaux", {}, {}};
    w.columns = {
        count("total", "Total", 80, total),
        count("maintenance", "Maintenance", 77, event({SONDE_EV_WORK_REQUEST_MAINTENANCE}), total),
        count("informatique", "Tâches informatiques", 78, event({SONDE_EV_WORK_REQUEST_IT}), total),
        count("secretariat", "Tâches de secrétariat", 79,
              event({SONDE_EV_WORK_REQUEST_SECRETARIAL}), total),
    };
    return {"demandes-travaux", "Demandes de travaux", "Demandes de travaux", 0, true, {w}};
}

}  // namespace

const std::vector<Menu> &menus() {
    static const std::vector<Menu> m = {accounts(),  connexions(),     moyens(), social(),
                                        scolarite(), communications(), travaux()};
    return m;
}

const Menu *find_menu(std::string_view id) {
    for (const Menu &m : menus())
        if (m.id == id) return &m;
    return nullptr;
}

}  // namespace sonde::console::web
