//! STIX 2.1 patterning.
