//! The admit decision: what a partner may send here (`inbound`), and the
//! producers it may speak for.

use crate::agreement::{Inbound, Tlp, TypeSet};
use crate::rules::Rules;
use crate::scan::scan;

/// The admit policy for one partner.
#[derive(Debug, Clone)]
pub struct InboundPolicy {
    partner: String,
    inb: Inbound,
}

/// An admitted object's flags: facts the caller logs and records (the
/// object is stored).
pub type Flags = Vec<String>;

fn type_allowed(types: &TypeSet, ty: &str) -> bool {
    types.0.iter().any(|t| t == "*" || t == ty)
}

impl InboundPolicy {
    /// The policy of `inb` for `partner`.
    pub fn new(partner: impl Into<String>, inb: Inbound) -> InboundPolicy {
        InboundPolicy {
            partner: partner.into(),
            inb,
        }
    }

    /// Whether the partner may give object `raw` of type `ty`: `Ok` with
    /// flags (a `created_by_ref` naming a producer other than
    /// `inbound.producers`), or `Err` with the clause that refuses it.
    ///
    /// # Errors
    /// The refusal, in plain words.
    pub fn check(&self, ty: &str, raw: &str) -> Result<Flags, String> {
        let p = &self.partner;
        if !type_allowed(&self.inb.types, ty) {
            return Err(format!(
                "type `{ty}` is not among the types accepted from {p} (inbound.types)"
            ));
        }
        if ty == "sighting" && !self.inb.sightings {
            return Err(format!(
                "sightings are not accepted from {p} (inbound.sightings = false)"
            ));
        }
        let s = scan(raw, ty, &Rules::none(), false).map_err(|e| e.to_string())?;
        if s.tlp > self.inb.max_tlp {
            return Err(format!(
                "{} is above {}, the highest TLP accepted from {p} (inbound.max_tlp)",
                s.tlp, self.inb.max_tlp
            ));
        }
        let mut flags = Vec::new();
        if let Some(by) = s.created_by_ref
            && !self.inb.producers.contains(&by)
        {
            flags.push(format!(
                "created_by_ref `{by}` is not a producer accepted from {p} (inbound.producers); stored, not trusted as {p}'s own"
            ));
        }
        let _ = Tlp::Clear;
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlp::{TLP2_AMBER, TLP2_RED};

    #[test]
    fn inbound_types_tlp_sightings_and_producers() {
        let inb = Inbound {
            types: TypeSet(vec!["indicator".into(), "sighting".into()]),
            max_tlp: Tlp::Amber,
            sightings: false,
            producers: vec!["identity--a".into()],
            ..Inbound::default()
        };
        let pol = InboundPolicy::new("eu", inb);
        let ind = |extra: &str| format!(r#"{{"type":"indicator","id":"indicator--1"{extra}}}"#);
        assert_eq!(pol.check("indicator", &ind("")), Ok(vec![]));
        let e = pol.check("malware", "{}").unwrap_err();
        assert!(e.contains("inbound.types"), "{e}");
        let e = pol.check("sighting", "{}").unwrap_err();
        assert!(e.contains("inbound.sightings"), "{e}");
        let red = ind(&format!(r#","object_marking_refs":["{TLP2_RED}"]"#));
        assert!(
            pol.check("indicator", &red)
                .unwrap_err()
                .contains("TLP:RED")
        );
        let amber = ind(&format!(r#","object_marking_refs":["{TLP2_AMBER}"]"#));
        assert!(pol.check("indicator", &amber).is_ok());
        assert_eq!(
            pol.check("indicator", &ind(r#","created_by_ref":"identity--a""#)),
            Ok(vec![])
        );
        let flags = pol
            .check("indicator", &ind(r#","created_by_ref":"identity--b""#))
            .unwrap();
        assert!(flags[0].contains("identity--b"), "{flags:?}");
    }
}
