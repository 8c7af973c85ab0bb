//! City → IANA time zone resolution against the tz database compiled into the binary
//! (jiff's bundled tzdb), so it behaves the same on Linux, macOS and Windows with no system
//! tzdata.
//!
//! A query matches, in order: an IANA zone name (`Asia/Tokyo`, `asia/tokyo`, `America/New York`),
//! an alias for a city the tz database does not name (`Beijing` → `Asia/Shanghai`), or the city
//! segment of a zone name (`Tokyo`, `New York`, `Sao Paulo`). Matching ignores case, accents and
//! punctuation (`São Paulo`, `sao-paulo` and `SAO_PAULO` are the same city).

use jiff::tz;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// A resolved place: the name to show and its IANA zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub name: String,
    pub zone: String,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.zone)
    }
}

/// Cities the tz database does not name, and spellings of ones it does. Keys are compared
/// normalized, so accents and case here are only for display.
const ALIASES: &[(&str, &str)] = &[
    ("São Paulo", "America/Sao_Paulo"),
    ("Rio de Janeiro", "America/Sao_Paulo"),
    ("Brasília", "America/Sao_Paulo"),
    ("Beijing", "Asia/Shanghai"),
    ("Shenzhen", "Asia/Shanghai"),
    ("Guangzhou", "Asia/Shanghai"),
    ("San Francisco", "America/Los_Angeles"),
    ("SF", "America/Los_Angeles"),
    ("LA", "America/Los_Angeles"),
    ("San Diego", "America/Los_Angeles"),
    ("Seattle", "America/Los_Angeles"),
    ("Las Vegas", "America/Los_Angeles"),
    ("Washington", "America/New_York"),
    ("Washington DC", "America/New_York"),
    ("NYC", "America/New_York"),
    ("Boston", "America/New_York"),
    ("Philadelphia", "America/New_York"),
    ("Atlanta", "America/New_York"),
    ("Miami", "America/New_York"),
    ("Montreal", "America/Toronto"),
    ("Ottawa", "America/Toronto"),
    ("Houston", "America/Chicago"),
    ("Dallas", "America/Chicago"),
    ("Austin", "America/Chicago"),
    ("New Orleans", "America/Chicago"),
    ("Minneapolis", "America/Chicago"),
    ("Salt Lake City", "America/Denver"),
    ("Calgary", "America/Edmonton"),
    ("Delhi", "Asia/Kolkata"),
    ("New Delhi", "Asia/Kolkata"),
    ("Mumbai", "Asia/Kolkata"),
    ("Bombay", "Asia/Kolkata"),
    ("Bangalore", "Asia/Kolkata"),
    ("Bengaluru", "Asia/Kolkata"),
    ("Chennai", "Asia/Kolkata"),
    ("Hyderabad", "Asia/Kolkata"),
    ("Osaka", "Asia/Tokyo"),
    ("Kyoto", "Asia/Tokyo"),
    ("Hanoi", "Asia/Ho_Chi_Minh"),
    ("Islamabad", "Asia/Karachi"),
    ("Lahore", "Asia/Karachi"),
    ("Abu Dhabi", "Asia/Dubai"),
    ("Tel Aviv", "Asia/Jerusalem"),
    ("Munich", "Europe/Berlin"),
    ("Frankfurt", "Europe/Berlin"),
    ("Hamburg", "Europe/Berlin"),
    ("Cologne", "Europe/Berlin"),
    ("Barcelona", "Europe/Madrid"),
    ("Milan", "Europe/Rome"),
    ("Venice", "Europe/Rome"),
    ("Florence", "Europe/Rome"),
    ("Geneva", "Europe/Zurich"),
    ("Manchester", "Europe/London"),
    ("Edinburgh", "Europe/London"),
    ("Saint Petersburg", "Europe/Moscow"),
    ("St Petersburg", "Europe/Moscow"),
    ("Kraków", "Europe/Warsaw"),
    ("Rotterdam", "Europe/Amsterdam"),
    ("The Hague", "Europe/Amsterdam"),
    ("Ankara", "Europe/Istanbul"),
    ("Cape Town", "Africa/Johannesburg"),
    ("Wellington", "Pacific/Auckland"),
];

/// First segments of zone names whose last segment is a city (not `Etc/GMT+5`, `US/Pacific`).
const REGIONS: &[&str] = &[
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
];

const MAX_SUGGESTIONS: usize = 5;

struct Index {
    /// Zone names by their lowercase form with `_` for spaces.
    zones: HashMap<String, String>,
    /// Places by normalized city (tzdb city segments and aliases) or normalized zone name.
    places: HashMap<String, Place>,
    /// Normalized keys of the cities, for suggestions.
    cities: Vec<String>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(build_index)
}

fn build_index() -> Index {
    let mut names: Vec<String> = tz::db().available().map(|n| n.as_str().to_owned()).collect();
    names.sort();
    let mut zones = HashMap::new();
    let mut places = HashMap::new();
    let mut cities = Vec::new();
    for (display, zone) in ALIASES {
        let key = normalize(display);
        cities.push(key.clone());
        places.insert(key, place(display, zone));
    }
    for name in &names {
        zones.insert(name.to_lowercase().replace(' ', "_"), name.clone());
        let region = name.split('/').next().unwrap_or_default();
        let city = name.rsplit('/').next().unwrap_or_default();
        if REGIONS.contains(&region) && city != region {
            let key = normalize(city);
            if let Entry::Vacant(slot) = places.entry(key) {
                cities.push(slot.key().clone());
                slot.insert(place(&city.replace('_', " "), name));
            }
            let full = normalize(name);
            places.entry(full).or_insert_with(|| place(&city.replace('_', " "), name));
        }
    }
    cities.sort();
    cities.dedup();
    Index { zones, places, cities }
}

fn place(name: &str, zone: &str) -> Place {
    Place { name: name.to_owned(), zone: zone.to_owned() }
}

/// Lowercase, accents stripped, apostrophes and periods dropped, every other run of
/// non-alphanumerics (spaces, `_`, `-`, `/`) one space: `"St. John's"` → `"st johns"`,
/// `"São_Paulo"` → `"sao paulo"`.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.nfd() {
        if is_combining_mark(c) || matches!(c, '\'' | '’' | '.') {
            continue;
        }
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The place `query` names, or up to five close matches when it names none.
pub fn resolve(query: &str) -> Result<Place, Vec<Place>> {
    let idx = index();
    let trimmed = query.trim();
    let zone_key = trimmed.to_lowercase().replace(' ', "_");
    if let Some(zone) = idx.zones.get(&zone_key) {
        let city = zone.rsplit('/').next().unwrap_or(zone).replace('_', " ");
        return Ok(place(&city, zone));
    }
    let key = normalize(trimmed);
    if let Some(p) = idx.places.get(&key) {
        return Ok(p.clone());
    }
    Err(suggest(idx, &key))
}

/// Close matches for an unknown `key`: cities it is a prefix of (or a word prefix of), then
/// cities within a small edit distance (Damerau-Levenshtein over chars, so a swapped pair of
/// letters, `Pairs`, costs one edit like a wrong one, `Tokio`); at most five, closest first.
fn suggest(idx: &Index, key: &str) -> Vec<Place> {
    if key.is_empty() {
        return Vec::new();
    }
    // For `Asia/Tokio`, compare the city part.
    let needle = match key.split_once(' ') {
        Some((head, tail)) if REGIONS.iter().any(|r| r.eq_ignore_ascii_case(head)) => tail,
        _ => key,
    };
    let len = needle.chars().count();
    let max_distance = ((len + 2) / 4).clamp(1, 3);
    let mut scored: Vec<(usize, usize, &String)> = idx
        .cities
        .iter()
        .filter_map(|city| {
            let distance = strsim::damerau_levenshtein(needle, city);
            let prefix = len >= 2
                && (city.starts_with(needle) || city.split(' ').any(|w| w.starts_with(needle)));
            if prefix {
                Some((0, distance, city))
            } else if distance <= max_distance {
                Some((1, distance, city))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    let mut out: Vec<Place> = Vec::new();
    for (_, _, city) in scored {
        if let Some(p) = idx.places.get(city) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        if out.len() == MAX_SUGGESTIONS {
            break;
        }
    }
    out
}

/// The `isError` text for an unknown city.
pub fn unknown_message(query: &str, suggestions: &[Place]) -> String {
    let mut msg = format!("Unknown city or time zone {:?}.", query.trim());
    if suggestions.is_empty() {
        msg.push_str(" No close matches.");
    } else {
        let list: Vec<String> = suggestions.iter().map(Place::to_string).collect();
        msg.push_str(&format!(" Did you mean: {}?", list.join(", ")));
    }
    msg.push_str(
        " Give a city name such as \"Tokyo\" or \"New York\", or an IANA zone such as \"Asia/Tokyo\".",
    );
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(q: &str) -> String {
        match resolve(q) {
            Ok(p) => p.zone,
            Err(s) => panic!("{q:?} did not resolve; suggestions {s:?}"),
        }
    }

    #[test]
    fn the_bundled_database_is_complete() {
        let n = tz::db().available().count();
        assert!(n > 400, "only {n} zones in the bundled tzdb");
    }

    #[test]
    fn zone_names_any_case() {
        assert_eq!(zone("Asia/Tokyo"), "Asia/Tokyo");
        assert_eq!(zone("asia/tokyo"), "Asia/Tokyo");
        assert_eq!(zone("  America/New York "), "America/New_York");
        assert_eq!(zone("America/Argentina/Buenos_Aires"), "America/Argentina/Buenos_Aires");
        assert_eq!(zone("UTC"), "UTC");
        assert_eq!(zone("Etc/GMT+5"), "Etc/GMT+5");
        assert_eq!(zone("Etc/GMT-5"), "Etc/GMT-5");
        assert_eq!(resolve("Asia/Tokyo").map(|p| p.name), Ok("Tokyo".into()));
    }

    #[test]
    fn city_names_from_the_database() {
        assert_eq!(zone("Tokyo"), "Asia/Tokyo");
        assert_eq!(zone("tokyo"), "Asia/Tokyo");
        assert_eq!(zone("New York"), "America/New_York");
        assert_eq!(zone("new_york"), "America/New_York");
        assert_eq!(zone("LOS ANGELES"), "America/Los_Angeles");
        assert_eq!(zone("Port au Prince"), "America/Port-au-Prince");
        assert_eq!(zone("Dar es Salaam"), "Africa/Dar_es_Salaam");
        assert_eq!(zone("Buenos Aires").rsplit('/').next(), Some("Buenos_Aires"));
        assert_eq!(zone("Kolkata"), "Asia/Kolkata");
        assert_eq!(zone("Zürich"), "Europe/Zurich");
        assert_eq!(
            resolve("new york").map(|p| p.to_string()),
            Ok("New York (America/New_York)".into())
        );
    }

    #[test]
    fn accents_and_aliases() {
        assert_eq!(zone("São Paulo"), "America/Sao_Paulo");
        assert_eq!(zone("sao paulo"), "America/Sao_Paulo");
        assert_eq!(zone("SÃO PAULO"), "America/Sao_Paulo");
        assert_eq!(zone("America/São_Paulo"), "America/Sao_Paulo");
        assert_eq!(zone("Beijing"), "Asia/Shanghai");
        assert_eq!(zone("San Francisco"), "America/Los_Angeles");
        assert_eq!(zone("Washington"), "America/New_York");
        assert_eq!(zone("Washington, D.C."), "America/New_York");
        assert_eq!(zone("Delhi"), "Asia/Kolkata");
        assert_eq!(zone("mumbai"), "Asia/Kolkata");
        assert_eq!(zone("Krakow"), "Europe/Warsaw");
        assert_eq!(resolve("sao paulo").map(|p| p.name), Ok("São Paulo".into()));
    }

    #[test]
    fn every_alias_names_a_real_zone() {
        for (city, zone) in ALIASES {
            assert!(tz::db().get(zone).is_ok(), "{city} → {zone} is not in the tzdb");
        }
    }

    #[test]
    fn unknown_cities_get_suggestions() {
        let s = resolve("Tokio").unwrap_err();
        assert_eq!(s.first().map(|p| p.zone.as_str()), Some("Asia/Tokyo"), "{s:?}");
        let s = resolve("Sidney").unwrap_err();
        assert!(s.iter().any(|p| p.zone == "Australia/Sydney"), "{s:?}");
        let s = resolve("Asia/Tokio").unwrap_err();
        assert!(s.iter().any(|p| p.zone == "Asia/Tokyo"), "{s:?}");
        let s = resolve("San Fran").unwrap_err();
        assert_eq!(s.first().map(|p| p.name.as_str()), Some("San Francisco"), "{s:?}");
        let s = resolve("Los Angelos").unwrap_err();
        assert!(s.iter().any(|p| p.zone == "America/Los_Angeles"), "{s:?}");
        assert!(resolve("Xqzzyvw").unwrap_err().is_empty());
        assert!(resolve("   ").unwrap_err().is_empty());
        assert!(resolve("Atlantis").unwrap_err().len() <= MAX_SUGGESTIONS);
    }

    #[test]
    fn fuzzy_matching_finds_near_misses() {
        for (typo, zone) in [
            ("Tokio", "Asia/Tokyo"),          // a wrong letter
            ("Pairs", "Europe/Paris"),        // two letters swapped: one edit, not two
            ("Londn", "Europe/London"),       // a letter missing
            ("Berlinn", "Europe/Berlin"),     // a letter too many
            ("Nwe York", "America/New_York"), // swapped, in a two-word name
            ("Sydeny", "Australia/Sydney"),
        ] {
            let s = resolve(typo).unwrap_err();
            assert_eq!(s.first().map(|p| p.zone.as_str()), Some(zone), "{typo}: {s:?}");
        }
    }

    #[test]
    fn fuzzy_matching_refuses_far_misses() {
        // Three or more edits in a short name is another word, not a typo.
        for (query, zone) in [
            ("Tkxyz", "Asia/Tokyo"),
            ("Prxqs", "Europe/Paris"),
            ("Lxndxnxx", "Europe/London"),
            ("Sdnyyyy", "Australia/Sydney"),
        ] {
            let s = resolve(query).unwrap_err();
            assert!(s.iter().all(|p| p.zone != zone), "{query}: {s:?}");
        }
        assert_eq!(resolve("Xqzzyvw"), Err(Vec::new()));
        assert_eq!(resolve("Qwxz"), Err(Vec::new()));
    }

    #[test]
    fn the_error_message_lists_suggestions() {
        let s = resolve("Tokio").unwrap_err();
        let msg = unknown_message("Tokio", &s);
        assert!(msg.contains("\"Tokio\""), "{msg}");
        assert!(msg.contains("Did you mean: Tokyo (Asia/Tokyo)"), "{msg}");
        let msg = unknown_message("Xqzzyvw", &[]);
        assert!(msg.contains("No close matches"), "{msg}");
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("St. John's"), "st johns");
        assert_eq!(normalize("  São_Paulo  "), "sao paulo");
        assert_eq!(normalize("Port-au-Prince"), "port au prince");
        assert_eq!(normalize("América/Sao_Paulo"), "america sao paulo");
    }
}
