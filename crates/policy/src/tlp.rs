//! TLP markings: the well-known marking-definition ids of TLP 2.0 and 1.0,
//! and the level of an object.
//!
//! The ids are those of the OASIS common objects (TLP 2.0,
//! `oasis-open/cti-stix-common-objects`, `objects/marking-definition/`) and
//! of STIX 2.1 §7.2.1.4 (TLP 1.0, as the `stix2` library defines them). TLP
//! 1.0 maps onto 2.0: WHITE is CLEAR, the others keep their names. A marking
//! ref that is not one of these is resolved by the caller
//! ([`crate::resolve`]): a custom TLP marking-definition counts with its
//! level, a statement does not change it, one that cannot be read withholds
//! the object. An unmarked object is CLEAR. The highest level among
//! `object_marking_refs` and the `marking_ref`s of granular markings counts
//! for the whole object.

use crate::agreement::Tlp;

/// TLP 2.0 CLEAR.
pub const TLP2_CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
/// TLP 2.0 GREEN.
pub const TLP2_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
/// TLP 2.0 AMBER.
pub const TLP2_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
/// TLP 2.0 AMBER+STRICT.
pub const TLP2_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
/// TLP 2.0 RED.
pub const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
/// TLP 1.0 WHITE (CLEAR in 2.0).
pub const TLP1_WHITE: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
/// TLP 1.0 GREEN.
pub const TLP1_GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
/// TLP 1.0 AMBER.
pub const TLP1_AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
/// TLP 1.0 RED.
pub const TLP1_RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

/// The TLP level a marking-definition id stands for, if it is a TLP one.
pub fn marking_tlp(id: &str) -> Option<Tlp> {
    Some(match id {
        TLP2_CLEAR | TLP1_WHITE => Tlp::Clear,
        TLP2_GREEN | TLP1_GREEN => Tlp::Green,
        TLP2_AMBER | TLP1_AMBER => Tlp::Amber,
        TLP2_AMBER_STRICT => Tlp::AmberStrict,
        TLP2_RED | TLP1_RED => Tlp::Red,
        _ => return None,
    })
}

/// The TLP 2.0 marking-definition id of a level.
pub fn tlp_marking(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => TLP2_CLEAR,
        Tlp::Green => TLP2_GREEN,
        Tlp::Amber => TLP2_AMBER,
        Tlp::AmberStrict => TLP2_AMBER_STRICT,
        Tlp::Red => TLP2_RED,
    }
}

impl Tlp {
    /// Its name as TLP 2.0 writes it (`TLP:AMBER+STRICT`).
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }
}

impl std::fmt::Display for Tlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_1_maps_onto_2() {
        assert_eq!(marking_tlp(TLP1_WHITE), Some(Tlp::Clear));
        assert_eq!(marking_tlp(TLP1_RED), Some(Tlp::Red));
        assert_eq!(marking_tlp(TLP2_AMBER_STRICT), Some(Tlp::AmberStrict));
        assert_eq!(
            marking_tlp("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
        for t in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            assert_eq!(marking_tlp(tlp_marking(t)), Some(t));
        }
    }
}
