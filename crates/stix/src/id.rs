//! STIX identifiers (§2.9): `type--UUID`.

use uuid::Uuid;

/// Why a string is not a STIX identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// No `--` separator.
    #[error("`{0}` is not an identifier of the form type--UUID")]
    Shape(String),
    /// The type part is not a valid type name.
    #[error("`{0}`: the type part is not a valid STIX type name")]
    TypePart(String),
    /// The UUID part does not parse or is not an RFC 4122 UUID.
    #[error("`{0}`: the part after `--` is not an RFC 4122 UUID")]
    Uuid(String),
}

/// A parsed identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identifier<'a> {
    /// The object type named by the identifier.
    pub type_name: &'a str,
    /// The UUID.
    pub uuid: Uuid,
}

/// Whether `s` is a valid STIX type name (§3.1): 3–250 characters, lower-case
/// ASCII letters, digits and hyphens, starting with a letter… hyphen rules included.
pub fn is_valid_type_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=250).contains(&b.len())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.contains("--")
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Parses `type--UUID`, checking that the UUID is in RFC 4122 form (variant
/// `10xx`, lower- or upper-case hex with hyphens).
///
/// # Errors
/// An [`IdError`] naming the identifier and the fault.
pub fn parse_identifier(s: &str) -> Result<Identifier<'_>, IdError> {
    let Some((ty, uuid)) = s.split_once("--") else {
        return Err(IdError::Shape(s.to_owned()));
    };
    if !is_valid_type_name(ty) {
        return Err(IdError::TypePart(s.to_owned()));
    }
    // RFC 4122 textual form only: 8-4-4-4-12 hex digits.
    let hyphenated = uuid.len() == 36
        && uuid
            .bytes()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == b'-'));
    let parsed = Uuid::parse_str(uuid).ok().filter(|_| hyphenated);
    match parsed {
        Some(u) if u.get_variant() == uuid::Variant::RFC4122 => Ok(Identifier {
            type_name: ty,
            uuid: u,
        }),
        _ => Err(IdError::Uuid(s.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad() {
        let id = parse_identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap();
        assert_eq!(id.type_name, "indicator");
        assert!(parse_identifier("indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_err());
        assert!(parse_identifier("indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f").is_err());
        // Variant bits 11xx (Microsoft) are not RFC 4122.
        assert!(parse_identifier("indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f").is_err());
        assert!(parse_identifier("Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_err());
        assert!(parse_identifier("x-my-type--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_ok());
    }
}
