//! Import names and semver matching, as wasmtime's `names.rs`: an import of
//! `wasi:cli/environment@0.2.4` binds to a definition of
//! `wasi:cli/environment@0.2.12`, because versions match on
//! `major.minor` before 1.0 and on `major` after.

use std::collections::HashMap;

/// A parsed `major.minor.patch[-pre]` version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    /// Pre-release versions match only exactly.
    pre: Option<String>,
}

fn parse_version(s: &str) -> Option<Version> {
    let (core, pre) = match s.split_once(['-', '+']) {
        Some((c, p)) => (c, Some(p.to_string())),
        None => (s, None),
    };
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre,
    })
}

/// `name` split into the part before `@` and its version, when it has a
/// valid one.
fn split(name: &str) -> Option<(&str, Version)> {
    let (base, v) = name.rsplit_once('@')?;
    Some((base, parse_version(v)?))
}

/// The key under which compatible versions meet: `base@major` for 1.0 and
/// up, `base@0.minor` for 0.x (x > 0); `None` for 0.0.x and pre-releases,
/// which match exactly only.
fn alternate_key(name: &str) -> Option<(String, Version)> {
    let (base, v) = split(name)?;
    if v.pre.is_some() {
        return None;
    }
    let key = if v.major > 0 {
        format!("{base}@{}", v.major)
    } else if v.minor > 0 {
        format!("{base}@0.{}", v.minor)
    } else {
        return None;
    };
    Some((key, v))
}

/// A name → item map that also finds items by compatible version.
#[derive(Clone, Debug)]
pub(crate) struct NameMap<V> {
    exact: HashMap<String, V>,
    /// Alternate key → (highest version defined, its exact name).
    alternates: HashMap<String, (Version, String)>,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap {
            exact: HashMap::new(),
            alternates: HashMap::new(),
        }
    }
}

impl<V> NameMap<V> {
    /// Define `name`; returns the previous definition of exactly `name`.
    pub fn insert(&mut self, name: &str, v: V) -> Option<V> {
        if let Some((key, version)) = alternate_key(name) {
            match self.alternates.get(&key) {
                Some((have, _)) if *have >= version => {}
                _ => {
                    self.alternates.insert(key, (version, name.to_string()));
                }
            }
        }
        self.exact.insert(name.to_string(), v)
    }

    /// The item for `name`, exactly or by compatible version.
    pub fn get(&self, name: &str) -> Option<&V> {
        if let Some(v) = self.exact.get(name) {
            return Some(v);
        }
        let (key, _) = alternate_key(name)?;
        let (_, exact) = self.alternates.get(&key)?;
        self.exact.get(exact)
    }

    /// The item for `name`, mutably, exactly or by compatible version.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        let exact = if self.exact.contains_key(name) {
            name.to_string()
        } else {
            let (key, _) = alternate_key(name)?;
            self.alternates.get(&key)?.1.clone()
        };
        self.exact.get_mut(&exact)
    }

    /// Whether exactly `name` is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.exact.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_versions_match_before_one_point_oh() {
        let mut m = NameMap::default();
        m.insert("wasi:cli/environment@0.2.12", 1);
        assert_eq!(m.get("wasi:cli/environment@0.2.4"), Some(&1));
        assert_eq!(m.get("wasi:cli/environment@0.2.0"), Some(&1));
        assert_eq!(m.get("wasi:cli/environment@0.3.0"), None);
        assert_eq!(m.get("wasi:cli/environment"), None);
    }

    #[test]
    fn the_highest_compatible_version_wins() {
        let mut m = NameMap::default();
        m.insert("a:b/c@0.2.3", 3);
        m.insert("a:b/c@0.2.9", 9);
        m.insert("a:b/c@0.2.5", 5);
        assert_eq!(m.get("a:b/c@0.2.1"), Some(&9));
        assert_eq!(m.get("a:b/c@0.2.5"), Some(&5));
    }

    #[test]
    fn major_versions_match_after_one_point_oh() {
        let mut m = NameMap::default();
        m.insert("a:b/c@1.4.0", 1);
        assert_eq!(m.get("a:b/c@1.0.7"), Some(&1));
        assert_eq!(m.get("a:b/c@2.0.0"), None);
    }

    #[test]
    fn zero_zero_and_prereleases_match_exactly() {
        let mut m = NameMap::default();
        m.insert("a:b/c@0.0.2", 1);
        m.insert("a:b/d@0.2.0-rc", 2);
        assert_eq!(m.get("a:b/c@0.0.1"), None);
        assert_eq!(m.get("a:b/c@0.0.2"), Some(&1));
        assert_eq!(m.get("a:b/d@0.2.0"), None);
    }
}
