//! Orders release names the way people read versions.
//!
//! Sentori's SDKs name releases `<app>@<version>+<build>` (protocol.md);
//! Sentry's add a `package@` and often a `+build` as well. Sorted as
//! text, `app@1.10.0` lands before `app@1.9.2`; here numeric parts compare
//! as numbers, a pre-release (`1.2.0-beta.3`) comes before its release,
//! and the build number decides last. Names that are not versions at all
//! still get a stable, natural order.

use std::cmp::Ordering;

struct Parts<'a> {
    package: &'a str,
    core: &'a str,
    pre: Option<&'a str>,
    build: Option<&'a str>,
}

fn parts(name: &str) -> Parts<'_> {
    let (package, version) = name.rsplit_once('@').unwrap_or(("", name));
    let (version, build) = match version.split_once('+') {
        Some((version, build)) => (version, Some(build)),
        None => (version, None),
    };
    let version = version.strip_prefix(['v', 'V']).filter(|v| v.starts_with(|c: char| c.is_ascii_digit())).unwrap_or(version);
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    Parts { package, core, pre, build }
}

/// `a` against `b`: greater means newer.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (parts(a), parts(b));
    a.package
        .cmp(b.package)
        .then_with(|| dotted(a.core, b.core))
        .then_with(|| match (a.pre, b.pre) {
            // A release is newer than any of its pre-releases.
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => dotted(x, y),
        })
        .then_with(|| dotted(a.build.unwrap_or(""), b.build.unwrap_or("")))
}

/// The order of a version-sorted list: apps by name, each app's highest
/// version first.
pub fn newest_first(a: &str, b: &str) -> Ordering {
    parts(a).package.cmp(parts(b).package).then_with(|| compare(b, a))
}

/// Dot-separated identifiers, each numerically when both are numbers (a
/// number before a word, as semver orders pre-release identifiers); with
/// equal leading parts, more parts is newer.
fn dotted(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match identifier(x, y) {
                Ordering::Equal => continue,
                other => return other,
            },
        }
    }
}

fn identifier(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, true) => {
            // Compared as digit strings, so a 40-digit build number cannot overflow.
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn versions_sort_as_people_read_them() {
        let mut names = vec![
            "shop@1.10.0+3",
            "shop@1.9.2+40",
            "shop@1.10.0-beta.2+1",
            "shop@1.10.0-beta.10+2",
            "shop@1.10.0+12",
            "shop@1.10.0-rc.1",
            "shop@v1.2.0",
            "shop@1.10",
            "nightly-2026-12-01",
        ];
        names.sort_by(|a, b| compare(a, b));
        assert_eq!(
            names,
            [
                "nightly-2026-12-01",
                "shop@v1.2.0",
                "shop@1.9.2+40",
                "shop@1.10",
                "shop@1.10.0-beta.2+1",
                "shop@1.10.0-beta.10+2",
                "shop@1.10.0-rc.1",
                "shop@1.10.0+3",
                "shop@1.10.0+12",
            ]
        );
    }

    #[test]
    fn a_list_groups_apps_and_puts_each_ones_newest_first() {
        let mut names = vec!["web@1.0", "api@2.0", "web@1.1", "api@10.0"];
        names.sort_by(|a, b| super::newest_first(a, b));
        assert_eq!(names, ["api@10.0", "api@2.0", "web@1.1", "web@1.0"]);
    }

    #[test]
    fn huge_numbers_and_odd_names_do_not_break_the_order() {
        assert!(compare("a@1.0.0+99999999999999999999999999", "a@1.0.0+100000000000000000000000000").is_lt());
        assert!(compare("a@1.0.0+007", "a@1.0.0+7").is_eq());
        assert!(compare("", "a@1").is_lt());
        assert!(compare("@@", "@").is_gt());
    }
}
