//! The tables of STIX 2.1, as data: which properties each type has, their
//! types, which are required, what references may point at, and the
//! vocabularies. The rules engine in [`crate::validate`] walks these tables;
//! anything that cannot be said as a table (co-constraints such as "`name` is
//! required when `is_family` is true") is a function in `validate`.
//!
//! Section numbers are those of *STIX Version 2.1*, OASIS Standard,
//! 10 June 2021 (<https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html>).
//!
//! Architecture invariant: everything here is `static`; nothing is built per
//! call, so validation allocates only when it reports an issue.

/// What a property's value must be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    /// A JSON string.
    Str,
    /// A non-empty list of strings (§2.8: a list MUST contain at least one value).
    StrList,
    /// `true` or `false` (§2.1).
    Bool,
    /// An integer in `min..=max` (§2.7).
    Int(i64, i64),
    /// A number in `min..=max` (§2.3 float).
    Float(f64, f64),
    /// A timestamp (§2.14).
    Ts,
    /// An identifier of an object of an allowed type (§2.9).
    Ref(Target),
    /// A non-empty list of such identifiers.
    RefList(Target),
    /// A value of a closed enumeration (§2.2): anything else is an error.
    Enum(&'static [&'static str]),
    /// A non-empty list of values of a closed enumeration.
    EnumList(&'static [&'static str]),
    /// A value of an open vocabulary (§2.11): other values are warnings.
    Open(&'static [&'static str]),
    /// A non-empty list of open-vocabulary values.
    OpenList(&'static [&'static str]),
    /// A dictionary (§2.4): a non-empty object with keys of 1-250 of `[a-zA-Z0-9_-]`.
    Dict,
    /// A dictionary (§2.4) whose every value is of the given type (the
    /// dictionaries whose values the specification types: HTTP and e-mail
    /// headers, environment variables, IPFIX, EXIF tags, ...).
    /// The section is the one that types the values, for messages.
    DictOf(&'static Ty, &'static str),
    /// A string or an integer (the values of `ipfix` and `exif_tags`).
    StrOrInt,
    /// A string or a non-empty list of strings (e-mail header values: one
    /// occurrence or a repeated header).
    StrOrStrList,
    /// A JSON object whose members are checked against a table (a spec type
    /// such as `x509-v3-extensions-type`); other members are custom properties.
    Struct(&'static [Prop]),
    /// A non-empty list of such objects.
    StructList(&'static [Prop]),
    /// A hashes dictionary (§2.5).
    Hashes,
    /// A non-empty list of kill chain phases (§2.10).
    KillChain,
    /// A non-empty list of external references (§2.6).
    ExtRefs,
    /// Hexadecimal text with an even number of digits (§2.6 hex).
    Hex,
    /// Base64 text (§2.2 binary).
    Bin,
    /// A JSON object whose members are checked by a type-specific rule.
    Obj,
    /// A non-empty list of JSON objects checked by a type-specific rule.
    ObjList,
}

/// What a reference may point at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// Any object but a bundle.
    Any,
    /// Exactly these types.
    Types(&'static [&'static str]),
    /// An SDO or SCO, custom ones included (relationship `source_ref`, `target_ref`, §5.1).
    SdoOrSco,
    /// An SDO, custom ones included (sighting `sighting_of_ref`, §5.2).
    Sdo,
    /// An SCO, custom ones included.
    Sco,
    /// An SCO or an SRO, custom ones included (observed-data `object_refs`, §4.14).
    ScoOrSro,
    /// Any STIX object but a bundle or a language-content (language-content `object_ref`, §7.1).
    NotLanguageContent,
}

/// One property of a type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prop {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

const fn p(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        ty,
        required: false,
    }
}

const fn req(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        ty,
        required: true,
    }
}

const GE0: Ty = Ty::Int(0, i64::MAX);
const NAME: Prop = req("name", Ty::Str);
const DESCRIPTION: Prop = p("description", Ty::Str);
const ALIASES: Prop = p("aliases", Ty::StrList);
const KCP: Prop = p("kill_chain_phases", Ty::KillChain);
const FIRST_SEEN: Prop = p("first_seen", Ty::Ts);
const LAST_SEEN: Prop = p("last_seen", Ty::Ts);
const ANY_REFS: Prop = req("object_refs", Ty::RefList(Target::Any));

/// The common properties (§3.2) other than `type`, `id`, `spec_version`,
/// `created` and `modified`, which `validate::common` checks itself, and
/// `granular_markings` and `extensions`, which have their own rules.
pub(crate) const COMMON: &[Prop] = &[
    p("created_by_ref", Ty::Ref(Target::Types(&["identity"]))),
    p("revoked", Ty::Bool),
    p("labels", Ty::StrList),
    p("confidence", Ty::Int(0, 100)),
    p("lang", Ty::Str),
    p("external_references", Ty::ExtRefs),
    p(
        "object_marking_refs",
        Ty::RefList(Target::Types(&["marking-definition"])),
    ),
    p("defanged", Ty::Bool),
];

/// The properties of one type, and its ID contributing properties (SCOs, §6).
#[derive(Debug)]
pub(crate) struct TypeSpec {
    pub name: &'static str,
    pub props: &'static [Prop],
    /// §6: the properties whose values make the deterministic UUIDv5; empty
    /// for types that have none.
    pub id_contributing: &'static [&'static str],
}

const fn t(name: &'static str, props: &'static [Prop]) -> TypeSpec {
    TypeSpec {
        name,
        props,
        id_contributing: &[],
    }
}

const fn sco(name: &'static str, props: &'static [Prop], id: &'static [&'static str]) -> TypeSpec {
    TypeSpec {
        name,
        props,
        id_contributing: id,
    }
}

/// Every type the specification defines, with its own properties.
pub(crate) static TYPES: &[TypeSpec] = &[
    // §4.1
    t("attack-pattern", &[NAME, DESCRIPTION, ALIASES, KCP]),
    // §4.2
    t(
        "campaign",
        &[
            NAME,
            DESCRIPTION,
            ALIASES,
            FIRST_SEEN,
            LAST_SEEN,
            p("objective", Ty::Str),
        ],
    ),
    // §4.3 (the action_* properties are reserved, §4.3)
    t("course-of-action", &[NAME, DESCRIPTION]),
    // §4.4
    t(
        "grouping",
        &[
            p("name", Ty::Str),
            DESCRIPTION,
            req("context", Ty::Open(GROUPING_CONTEXT)),
            ANY_REFS,
        ],
    ),
    // §4.5
    t(
        "identity",
        &[
            NAME,
            DESCRIPTION,
            p("roles", Ty::StrList),
            p("identity_class", Ty::Open(IDENTITY_CLASS)),
            p("sectors", Ty::OpenList(INDUSTRY_SECTOR)),
            p("contact_information", Ty::Str),
        ],
    ),
    // §4.6
    t("incident", &[NAME, DESCRIPTION, KCP]),
    // §4.7
    t(
        "indicator",
        &[
            p("name", Ty::Str),
            DESCRIPTION,
            p("indicator_types", Ty::OpenList(INDICATOR_TYPE)),
            req("pattern", Ty::Str),
            req("pattern_type", Ty::Open(PATTERN_TYPE)),
            p("pattern_version", Ty::Str),
            req("valid_from", Ty::Ts),
            p("valid_until", Ty::Ts),
            KCP,
        ],
    ),
    // §4.8
    t(
        "infrastructure",
        &[
            NAME,
            DESCRIPTION,
            p("infrastructure_types", Ty::OpenList(INFRASTRUCTURE_TYPE)),
            ALIASES,
            KCP,
            FIRST_SEEN,
            LAST_SEEN,
        ],
    ),
    // §4.9
    t(
        "intrusion-set",
        &[
            NAME,
            DESCRIPTION,
            ALIASES,
            FIRST_SEEN,
            LAST_SEEN,
            p("goals", Ty::StrList),
            p("resource_level", Ty::Open(ATTACK_RESOURCE_LEVEL)),
            p("primary_motivation", Ty::Open(ATTACK_MOTIVATION)),
            p("secondary_motivations", Ty::OpenList(ATTACK_MOTIVATION)),
        ],
    ),
    // §4.10
    t(
        "location",
        &[
            p("name", Ty::Str),
            DESCRIPTION,
            p("latitude", Ty::Float(-90.0, 90.0)),
            p("longitude", Ty::Float(-180.0, 180.0)),
            p("precision", Ty::Float(0.0, f64::MAX)),
            p("region", Ty::Open(REGION)),
            p("country", Ty::Str),
            p("administrative_area", Ty::Str),
            p("city", Ty::Str),
            p("street_address", Ty::Str),
            p("postal_code", Ty::Str),
        ],
    ),
    // §4.11
    t(
        "malware",
        &[
            p("name", Ty::Str),
            DESCRIPTION,
            p("malware_types", Ty::OpenList(MALWARE_TYPE)),
            req("is_family", Ty::Bool),
            ALIASES,
            KCP,
            FIRST_SEEN,
            LAST_SEEN,
            p(
                "operating_system_refs",
                Ty::RefList(Target::Types(&["software"])),
            ),
            p(
                "architecture_execution_envs",
                Ty::OpenList(PROCESSOR_ARCHITECTURE),
            ),
            p(
                "implementation_languages",
                Ty::OpenList(IMPLEMENTATION_LANGUAGE),
            ),
            p("capabilities", Ty::OpenList(MALWARE_CAPABILITIES)),
            p(
                "sample_refs",
                Ty::RefList(Target::Types(&["file", "artifact"])),
            ),
        ],
    ),
    // §4.12
    t(
        "malware-analysis",
        &[
            req("product", Ty::Str),
            p("version", Ty::Str),
            p("host_vm_ref", Ty::Ref(Target::Types(&["software"]))),
            p(
                "operating_system_ref",
                Ty::Ref(Target::Types(&["software"])),
            ),
            p(
                "installed_software_refs",
                Ty::RefList(Target::Types(&["software"])),
            ),
            p("configuration_version", Ty::Str),
            p("modules", Ty::StrList),
            p("analysis_engine_version", Ty::Str),
            p("analysis_definition_version", Ty::Str),
            p("submitted", Ty::Ts),
            p("analysis_started", Ty::Ts),
            p("analysis_ended", Ty::Ts),
            p("result_name", Ty::Str),
            p("result", Ty::Open(MALWARE_RESULT)),
            p("analysis_sco_refs", Ty::RefList(Target::Sco)),
            p(
                "sample_ref",
                Ty::Ref(Target::Types(&["file", "network-traffic", "artifact"])),
            ),
        ],
    ),
    // §4.13
    t(
        "note",
        &[
            p("abstract", Ty::Str),
            req("content", Ty::Str),
            p("authors", Ty::StrList),
            ANY_REFS,
        ],
    ),
    // §4.14
    t(
        "observed-data",
        &[
            req("first_observed", Ty::Ts),
            req("last_observed", Ty::Ts),
            req("number_observed", Ty::Int(1, 999_999_999)),
            p("objects", Ty::Obj),
            p("object_refs", Ty::RefList(Target::ScoOrSro)),
        ],
    ),
    // §4.15
    t(
        "opinion",
        &[
            p("explanation", Ty::Str),
            p("authors", Ty::StrList),
            req("opinion", Ty::Enum(OPINION)),
            ANY_REFS,
        ],
    ),
    // §4.16
    t(
        "report",
        &[
            NAME,
            DESCRIPTION,
            p("report_types", Ty::OpenList(REPORT_TYPE)),
            req("published", Ty::Ts),
            ANY_REFS,
        ],
    ),
    // §4.17
    t(
        "threat-actor",
        &[
            NAME,
            DESCRIPTION,
            p("threat_actor_types", Ty::OpenList(THREAT_ACTOR_TYPE)),
            ALIASES,
            FIRST_SEEN,
            LAST_SEEN,
            p("roles", Ty::OpenList(THREAT_ACTOR_ROLE)),
            p("goals", Ty::StrList),
            p("sophistication", Ty::Open(THREAT_ACTOR_SOPHISTICATION)),
            p("resource_level", Ty::Open(ATTACK_RESOURCE_LEVEL)),
            p("primary_motivation", Ty::Open(ATTACK_MOTIVATION)),
            p("secondary_motivations", Ty::OpenList(ATTACK_MOTIVATION)),
            p("personal_motivations", Ty::OpenList(ATTACK_MOTIVATION)),
        ],
    ),
    // §4.18
    t(
        "tool",
        &[
            NAME,
            DESCRIPTION,
            p("tool_types", Ty::OpenList(TOOL_TYPE)),
            ALIASES,
            KCP,
            p("tool_version", Ty::Str),
        ],
    ),
    // §4.19
    t("vulnerability", &[NAME, DESCRIPTION]),
    // §5.1
    t(
        "relationship",
        &[
            req("relationship_type", Ty::Str),
            DESCRIPTION,
            req("source_ref", Ty::Ref(Target::SdoOrSco)),
            req("target_ref", Ty::Ref(Target::SdoOrSco)),
            p("start_time", Ty::Ts),
            p("stop_time", Ty::Ts),
        ],
    ),
    // §5.2
    t(
        "sighting",
        &[
            DESCRIPTION,
            FIRST_SEEN,
            LAST_SEEN,
            p("count", Ty::Int(0, 999_999_999)),
            req("sighting_of_ref", Ty::Ref(Target::Sdo)),
            p(
                "observed_data_refs",
                Ty::RefList(Target::Types(&["observed-data"])),
            ),
            p(
                "where_sighted_refs",
                Ty::RefList(Target::Types(&["identity", "location"])),
            ),
            p("summary", Ty::Bool),
        ],
    ),
    // §6.1
    sco(
        "artifact",
        &[
            p("mime_type", Ty::Str),
            p("payload_bin", Ty::Bin),
            p("url", Ty::Str),
            p("hashes", Ty::Hashes),
            p("encryption_algorithm", Ty::Enum(ENCRYPTION_ALGORITHM)),
            p("decryption_key", Ty::Str),
        ],
        &["hashes", "payload_bin"],
    ),
    // §6.2
    sco(
        "autonomous-system",
        &[req("number", GE0), p("name", Ty::Str), p("rir", Ty::Str)],
        &["number"],
    ),
    // §6.3
    sco(
        "directory",
        &[
            req("path", Ty::Str),
            p("path_enc", Ty::Str),
            p("ctime", Ty::Ts),
            p("mtime", Ty::Ts),
            p("atime", Ty::Ts),
            p(
                "contains_refs",
                Ty::RefList(Target::Types(&["file", "directory"])),
            ),
        ],
        &["path"],
    ),
    // §6.4
    sco(
        "domain-name",
        &[
            req("value", Ty::Str),
            p(
                "resolves_to_refs",
                Ty::RefList(Target::Types(&["ipv4-addr", "ipv6-addr", "domain-name"])),
            ),
        ],
        &["value"],
    ),
    // §6.5
    sco(
        "email-addr",
        &[
            req("value", Ty::Str),
            p("display_name", Ty::Str),
            p("belongs_to_ref", Ty::Ref(Target::Types(&["user-account"]))),
        ],
        &["value"],
    ),
    // §6.6
    sco(
        "email-message",
        &[
            req("is_multipart", Ty::Bool),
            p("date", Ty::Ts),
            p("content_type", Ty::Str),
            p("from_ref", Ty::Ref(Target::Types(&["email-addr"]))),
            p("sender_ref", Ty::Ref(Target::Types(&["email-addr"]))),
            p("to_refs", Ty::RefList(Target::Types(&["email-addr"]))),
            p("cc_refs", Ty::RefList(Target::Types(&["email-addr"]))),
            p("bcc_refs", Ty::RefList(Target::Types(&["email-addr"]))),
            p("message_id", Ty::Str),
            p("subject", Ty::Str),
            p("received_lines", Ty::StrList),
            p(
                "additional_header_fields",
                Ty::DictOf(&Ty::StrOrStrList, "§6.6"),
            ),
            p("body", Ty::Str),
            p("body_multipart", Ty::ObjList),
            p("raw_email_ref", Ty::Ref(Target::Types(&["artifact"]))),
        ],
        &["from_ref", "subject", "body"],
    ),
    // §6.7
    sco(
        "file",
        &[
            p("hashes", Ty::Hashes),
            p("size", GE0),
            p("name", Ty::Str),
            p("name_enc", Ty::Str),
            p("magic_number_hex", Ty::Hex),
            p("mime_type", Ty::Str),
            p("ctime", Ty::Ts),
            p("mtime", Ty::Ts),
            p("atime", Ty::Ts),
            p(
                "parent_directory_ref",
                Ty::Ref(Target::Types(&["directory"])),
            ),
            p("contains_refs", Ty::RefList(Target::Sco)),
            p("content_ref", Ty::Ref(Target::Types(&["artifact"]))),
        ],
        &["hashes", "name", "extensions", "parent_directory_ref"],
    ),
    // §6.8
    sco(
        "ipv4-addr",
        &[
            req("value", Ty::Str),
            p(
                "resolves_to_refs",
                Ty::RefList(Target::Types(&["mac-addr"])),
            ),
            p(
                "belongs_to_refs",
                Ty::RefList(Target::Types(&["autonomous-system"])),
            ),
        ],
        &["value"],
    ),
    // §6.9
    sco(
        "ipv6-addr",
        &[
            req("value", Ty::Str),
            p(
                "resolves_to_refs",
                Ty::RefList(Target::Types(&["mac-addr"])),
            ),
            p(
                "belongs_to_refs",
                Ty::RefList(Target::Types(&["autonomous-system"])),
            ),
        ],
        &["value"],
    ),
    // §6.10
    sco("mac-addr", &[req("value", Ty::Str)], &["value"]),
    // §6.11
    sco("mutex", &[req("name", Ty::Str)], &["name"]),
    // §6.12
    sco(
        "network-traffic",
        &[
            p("start", Ty::Ts),
            p("end", Ty::Ts),
            p("is_active", Ty::Bool),
            p("src_ref", Ty::Ref(Target::Types(ADDRESS_TYPES))),
            p("dst_ref", Ty::Ref(Target::Types(ADDRESS_TYPES))),
            p("src_port", Ty::Int(0, 65535)),
            p("dst_port", Ty::Int(0, 65535)),
            req("protocols", Ty::StrList),
            p("src_byte_count", GE0),
            p("dst_byte_count", GE0),
            p("src_packets", GE0),
            p("dst_packets", GE0),
            p("ipfix", Ty::DictOf(&Ty::StrOrInt, "§6.12")),
            p("src_payload_ref", Ty::Ref(Target::Types(&["artifact"]))),
            p("dst_payload_ref", Ty::Ref(Target::Types(&["artifact"]))),
            p(
                "encapsulates_refs",
                Ty::RefList(Target::Types(&["network-traffic"])),
            ),
            p(
                "encapsulated_by_ref",
                Ty::Ref(Target::Types(&["network-traffic"])),
            ),
        ],
        &[
            "start",
            "end",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "extensions",
        ],
    ),
    // §6.13 (no ID contributing properties: UUIDv4)
    sco(
        "process",
        &[
            p("is_hidden", Ty::Bool),
            p("pid", Ty::Int(i64::MIN, i64::MAX)),
            p("created_time", Ty::Ts),
            p("cwd", Ty::Str),
            p("command_line", Ty::Str),
            p("environment_variables", Ty::DictOf(&Ty::Str, "§6.13")),
            p(
                "opened_connection_refs",
                Ty::RefList(Target::Types(&["network-traffic"])),
            ),
            p(
                "creator_user_ref",
                Ty::Ref(Target::Types(&["user-account"])),
            ),
            p("image_ref", Ty::Ref(Target::Types(&["file"]))),
            p("parent_ref", Ty::Ref(Target::Types(&["process"]))),
            p("child_refs", Ty::RefList(Target::Types(&["process"]))),
        ],
        &[],
    ),
    // §6.14
    sco(
        "software",
        &[
            req("name", Ty::Str),
            p("cpe", Ty::Str),
            p("swid", Ty::Str),
            p("languages", Ty::StrList),
            p("vendor", Ty::Str),
            p("version", Ty::Str),
        ],
        &["name", "cpe", "swid", "vendor", "version"],
    ),
    // §6.15
    sco("url", &[req("value", Ty::Str)], &["value"]),
    // §6.16
    sco(
        "user-account",
        &[
            p("user_id", Ty::Str),
            p("credential", Ty::Str),
            p("account_login", Ty::Str),
            p("account_type", Ty::Open(ACCOUNT_TYPE)),
            p("display_name", Ty::Str),
            p("is_service_account", Ty::Bool),
            p("is_privileged", Ty::Bool),
            p("can_escalate_privs", Ty::Bool),
            p("is_disabled", Ty::Bool),
            p("account_created", Ty::Ts),
            p("account_expires", Ty::Ts),
            p("credential_last_changed", Ty::Ts),
            p("account_first_login", Ty::Ts),
            p("account_last_login", Ty::Ts),
        ],
        &["account_type", "user_id", "account_login"],
    ),
    // §6.17
    sco(
        "windows-registry-key",
        &[
            p("key", Ty::Str),
            p("values", Ty::ObjList),
            p("modified_time", Ty::Ts),
            p(
                "creator_user_ref",
                Ty::Ref(Target::Types(&["user-account"])),
            ),
            p("number_of_subkeys", GE0),
        ],
        &["key", "values"],
    ),
    // §6.18
    sco(
        "x509-certificate",
        &[
            p("is_self_signed", Ty::Bool),
            p("hashes", Ty::Hashes),
            p("version", Ty::Str),
            p("serial_number", Ty::Str),
            p("signature_algorithm", Ty::Str),
            p("issuer", Ty::Str),
            p("validity_not_before", Ty::Ts),
            p("validity_not_after", Ty::Ts),
            p("subject", Ty::Str),
            p("subject_public_key_algorithm", Ty::Str),
            p("subject_public_key_modulus", Ty::Str),
            p("subject_public_key_exponent", GE0),
            p("x509_v3_extensions", Ty::Struct(X509_V3_EXTENSIONS)),
        ],
        &["hashes", "serial_number"],
    ),
    // §7.1
    t(
        "language-content",
        &[
            req("object_ref", Ty::Ref(Target::NotLanguageContent)),
            p("object_modified", Ty::Ts),
            req("contents", Ty::Obj),
        ],
    ),
    // §7.2
    t(
        "marking-definition",
        &[
            p("name", Ty::Str),
            p("definition_type", Ty::Str),
            p("definition", Ty::Obj),
        ],
    ),
    // §7.3
    t(
        "extension-definition",
        &[
            req("created_by_ref", Ty::Ref(Target::Types(&["identity"]))),
            req("name", Ty::Str),
            DESCRIPTION,
            req("schema", Ty::Str),
            req("version", Ty::Str),
            req("extension_types", Ty::EnumList(EXTENSION_TYPES)),
            p("extension_properties", Ty::StrList),
        ],
    ),
];

/// The spec of a type the specification defines.
pub(crate) fn type_spec(ty: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|s| s.name == ty)
}

/// A property of a spec table.
pub(crate) fn find_prop(props: &'static [Prop], name: &str) -> Option<&'static Prop> {
    props.iter().find(|p| p.name == name)
}

/// The address types `network-traffic` `src_ref`/`dst_ref` may point at (§6.12).
pub(crate) const ADDRESS_TYPES: &[&str] = &["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"];

/// Predefined extensions of the SCOs (§6.x.2), by the type they extend.
pub(crate) static PREDEFINED_EXTENSIONS: &[(&str, &str, &[Prop])] = &[
    // §6.7.2
    (
        "file",
        "archive-ext",
        &[
            req(
                "contains_refs",
                Ty::RefList(Target::Types(&["file", "directory"])),
            ),
            p("comment", Ty::Str),
        ],
    ),
    // §6.7.3
    (
        "file",
        "ntfs-ext",
        &[
            p("sid", Ty::Str),
            p(
                "alternate_data_streams",
                Ty::StructList(NTFS_ALTERNATE_DATA_STREAM),
            ),
        ],
    ),
    // §6.7.4
    (
        "file",
        "pdf-ext",
        &[
            p("version", Ty::Str),
            p("is_optimized", Ty::Bool),
            p("document_info_dict", Ty::DictOf(&Ty::Str, "§6.7.4")),
            p("pdfid0", Ty::Str),
            p("pdfid1", Ty::Str),
        ],
    ),
    // §6.7.5
    (
        "file",
        "raster-image-ext",
        &[
            p("image_height", GE0),
            p("image_width", GE0),
            p("bits_per_pixel", GE0),
            p("exif_tags", Ty::DictOf(&Ty::StrOrInt, "§6.7.5")),
        ],
    ),
    // §6.7.6
    (
        "file",
        "windows-pebinary-ext",
        &[
            req("pe_type", Ty::Open(WINDOWS_PEBINARY_TYPE)),
            p("imphash", Ty::Str),
            p("machine_hex", Ty::Hex),
            p("number_of_sections", GE0),
            p("time_date_stamp", Ty::Ts),
            p("pointer_to_symbol_table_hex", Ty::Hex),
            p("number_of_symbols", GE0),
            p("size_of_optional_header", GE0),
            p("characteristics_hex", Ty::Hex),
            p("file_header_hashes", Ty::Hashes),
            p("optional_header", Ty::Struct(PE_OPTIONAL_HEADER)),
            p("sections", Ty::StructList(PE_SECTION)),
        ],
    ),
    // §6.12.2
    (
        "network-traffic",
        "http-request-ext",
        &[
            req("request_method", Ty::Str),
            req("request_value", Ty::Str),
            p("request_version", Ty::Str),
            p("request_header", Ty::DictOf(&Ty::StrList, "§6.12.2")),
            p("message_body_length", GE0),
            p(
                "message_body_data_ref",
                Ty::Ref(Target::Types(&["artifact"])),
            ),
        ],
    ),
    // §6.12.3
    (
        "network-traffic",
        "icmp-ext",
        &[req("icmp_type_hex", Ty::Hex), req("icmp_code_hex", Ty::Hex)],
    ),
    // §6.12.4
    (
        "network-traffic",
        "socket-ext",
        &[
            req("address_family", Ty::Enum(NETWORK_SOCKET_ADDRESS_FAMILY)),
            p("is_blocking", Ty::Bool),
            p("is_listening", Ty::Bool),
            p(
                "options",
                Ty::DictOf(&Ty::Int(i64::MIN, i64::MAX), "§6.12.4"),
            ),
            p("socket_type", Ty::Enum(NETWORK_SOCKET_TYPE)),
            p("socket_descriptor", GE0),
            p("socket_handle", Ty::Int(i64::MIN, i64::MAX)),
        ],
    ),
    // §6.12.5
    (
        "network-traffic",
        "tcp-ext",
        &[p("src_flags_hex", Ty::Hex), p("dst_flags_hex", Ty::Hex)],
    ),
    // §6.13.2
    (
        "process",
        "windows-process-ext",
        &[
            p("aslr_enabled", Ty::Bool),
            p("dep_enabled", Ty::Bool),
            p("priority", Ty::Str),
            p("owner_sid", Ty::Str),
            p("window_title", Ty::Str),
            p("startup_info", Ty::Dict),
            p("integrity_level", Ty::Enum(WINDOWS_INTEGRITY_LEVEL)),
        ],
    ),
    // §6.13.3
    (
        "process",
        "windows-service-ext",
        &[
            p("service_name", Ty::Str),
            p("descriptions", Ty::StrList),
            p("display_name", Ty::Str),
            p("group_name", Ty::Str),
            p("start_type", Ty::Enum(WINDOWS_SERVICE_START_TYPE)),
            p("service_dll_refs", Ty::RefList(Target::Types(&["file"]))),
            p("service_type", Ty::Enum(WINDOWS_SERVICE_TYPE)),
            p("service_status", Ty::Enum(WINDOWS_SERVICE_STATUS)),
        ],
    ),
    // §6.16.2
    (
        "user-account",
        "unix-account-ext",
        &[
            p("gid", Ty::Int(i64::MIN, i64::MAX)),
            p("groups", Ty::StrList),
            p("home_dir", Ty::Str),
            p("shell", Ty::Str),
        ],
    ),
];

/// `x509-v3-extensions-type` (§6.18.2): every property a string but the
/// two private-key-usage timestamps.
pub(crate) const X509_V3_EXTENSIONS: &[Prop] = &[
    p("basic_constraints", Ty::Str),
    p("name_constraints", Ty::Str),
    p("policy_constraints", Ty::Str),
    p("key_usage", Ty::Str),
    p("extended_key_usage", Ty::Str),
    p("subject_key_identifier", Ty::Str),
    p("authority_key_identifier", Ty::Str),
    p("subject_alternative_name", Ty::Str),
    p("issuer_alternative_name", Ty::Str),
    p("subject_directory_attributes", Ty::Str),
    p("crl_distribution_points", Ty::Str),
    p("inhibit_any_policy", Ty::Str),
    p("private_key_usage_period_not_before", Ty::Ts),
    p("private_key_usage_period_not_after", Ty::Ts),
    p("certificate_policies", Ty::Str),
    p("policy_mappings", Ty::Str),
];

/// `alternate-data-stream-type` (§6.7.3.1): the items of `ntfs-ext`
/// `alternate_data_streams`.
pub(crate) const NTFS_ALTERNATE_DATA_STREAM: &[Prop] = &[
    req("name", Ty::Str),
    p("hashes", Ty::Hashes),
    p("size", GE0),
];

/// `windows-pe-section-type` (§6.7.6.3): the items of `windows-pebinary-ext`
/// `sections`.
pub(crate) const PE_SECTION: &[Prop] = &[
    req("name", Ty::Str),
    p("size", GE0),
    p("entropy", Ty::Float(f64::MIN, f64::MAX)),
    p("hashes", Ty::Hashes),
];

const ANY_INT: Ty = Ty::Int(i64::MIN, i64::MAX);

/// `windows-pe-optional-header-type` (§6.7.6.2).
pub(crate) const PE_OPTIONAL_HEADER: &[Prop] = &[
    p("magic_hex", Ty::Hex),
    p("major_linker_version", ANY_INT),
    p("minor_linker_version", ANY_INT),
    p("size_of_code", GE0),
    p("size_of_initialized_data", GE0),
    p("size_of_uninitialized_data", GE0),
    p("address_of_entry_point", ANY_INT),
    p("base_of_code", ANY_INT),
    p("base_of_data", ANY_INT),
    p("image_base", ANY_INT),
    p("section_alignment", ANY_INT),
    p("file_alignment", ANY_INT),
    p("major_os_version", ANY_INT),
    p("minor_os_version", ANY_INT),
    p("major_image_version", ANY_INT),
    p("minor_image_version", ANY_INT),
    p("major_subsystem_version", ANY_INT),
    p("minor_subsystem_version", ANY_INT),
    p("win32_version_value_hex", Ty::Hex),
    p("size_of_image", GE0),
    p("size_of_headers", GE0),
    p("checksum_hex", Ty::Hex),
    p("subsystem_hex", Ty::Hex),
    p("dll_characteristics_hex", Ty::Hex),
    p("size_of_stack_reserve", GE0),
    p("size_of_stack_commit", GE0),
    p("size_of_heap_reserve", GE0),
    p("size_of_heap_commit", GE0),
    p("loader_flags_hex", Ty::Hex),
    p("number_of_rva_and_sizes", ANY_INT),
    p("hashes", Ty::Hashes),
];

/// The `body_multipart` items of `email-message` (§6.6.2, mime-part-type).
pub(crate) const MIME_PART: &[Prop] = &[
    p("body", Ty::Str),
    p(
        "body_raw_ref",
        Ty::Ref(Target::Types(&["artifact", "file"])),
    ),
    p("content_type", Ty::Str),
    p("content_disposition", Ty::Str),
];

/// The `values` items of `windows-registry-key` (§6.17.2).
pub(crate) const REGISTRY_VALUE: &[Prop] = &[
    p("name", Ty::Str),
    p("data", Ty::Str),
    p("data_type", Ty::Enum(WINDOWS_REGISTRY_DATATYPE)),
];

/// Timestamp orderings the specification makes MUSTs: `(type, later, earlier, strict)`.
/// `strict` means "MUST be later than", otherwise "later than or equal to".
pub(crate) static TIMESTAMP_ORDER: &[(&str, &str, &str, bool)] = &[
    ("campaign", "last_seen", "first_seen", false), // §4.2
    ("indicator", "valid_until", "valid_from", true), // §4.7
    ("infrastructure", "last_seen", "first_seen", false), // §4.8
    ("intrusion-set", "last_seen", "first_seen", false), // §4.9
    ("malware", "last_seen", "first_seen", false),  // §4.11
    ("observed-data", "last_observed", "first_observed", false), // §4.14
    ("threat-actor", "last_seen", "first_seen", false), // §4.17
    ("relationship", "stop_time", "start_time", true), // §5.1
    ("sighting", "last_seen", "first_seen", false), // §5.2
    ("network-traffic", "end", "start", false),     // §6.12
];

/// Property names that §3.1 reserves: they MUST NOT be used.
pub(crate) const RESERVED_PROPERTIES: &[&str] =
    &["severity", "action", "username", "phone_numbers"];

/// `extension_type` values (§7.3.1 extension-type-enum, closed).
pub(crate) const EXTENSION_TYPES: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// §4.15 opinion-enum (closed).
pub(crate) const OPINION: &[&str] = &[
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];

/// §10.4 encryption-algorithm-enum (closed).
pub(crate) const ENCRYPTION_ALGORITHM: &[&str] =
    &["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"];

/// §10.16 network-socket-address-family-enum (closed).
pub(crate) const NETWORK_SOCKET_ADDRESS_FAMILY: &[&str] = &[
    "AF_UNSPEC",
    "AF_INET",
    "AF_IPX",
    "AF_APPLETALK",
    "AF_NETBIOS",
    "AF_INET6",
    "AF_IRDA",
    "AF_BTH",
];

/// §10.17 network-socket-type-enum (closed).
pub(crate) const NETWORK_SOCKET_TYPE: &[&str] = &[
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_RDM",
    "SOCK_SEQPACKET",
];

/// §10.22 windows-integrity-level-enum (closed).
pub(crate) const WINDOWS_INTEGRITY_LEVEL: &[&str] = &["low", "medium", "high", "system"];

/// §10.24 windows-registry-datatype-enum (closed).
pub(crate) const WINDOWS_REGISTRY_DATATYPE: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];

/// §10.25 windows-service-start-type-enum (closed).
pub(crate) const WINDOWS_SERVICE_START_TYPE: &[&str] = &[
    "SERVICE_AUTO_START",
    "SERVICE_BOOT_START",
    "SERVICE_DEMAND_START",
    "SERVICE_DISABLED",
    "SERVICE_SYSTEM_ALERT",
];

/// §10.26 windows-service-type-enum (closed).
pub(crate) const WINDOWS_SERVICE_TYPE: &[&str] = &[
    "SERVICE_KERNEL_DRIVER",
    "SERVICE_FILE_SYSTEM_DRIVER",
    "SERVICE_WIN32_OWN_PROCESS",
    "SERVICE_WIN32_SHARE_PROCESS",
];

/// §10.27 windows-service-status-enum (closed).
pub(crate) const WINDOWS_SERVICE_STATUS: &[&str] = &[
    "SERVICE_CONTINUE_PENDING",
    "SERVICE_PAUSE_PENDING",
    "SERVICE_PAUSED",
    "SERVICE_RUNNING",
    "SERVICE_START_PENDING",
    "SERVICE_STOP_PENDING",
    "SERVICE_STOPPED",
];

/// The hash algorithms whose values have a fixed hex length (§10.7
/// hash-algorithm-ov: "MUST be a valid ... message digest").
pub(crate) const HEX_HASH_LENGTHS: &[(&str, usize)] = &[
    ("MD5", 32),
    ("SHA-1", 40),
    ("SHA-256", 64),
    ("SHA-512", 128),
    ("SHA3-256", 64),
    ("SHA3-512", 128),
];

/// The TLP 1.0 marking definitions of §7.2.1.4: `(id, tlp value, name)`. All
/// have `created` [`TLP1_CREATED`] and `definition_type` `tlp`.
pub(crate) const TLP1: &[(&str, &str, &str)] = &[
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        "white",
        "TLP:WHITE",
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "green",
        "TLP:GREEN",
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "amber",
        "TLP:AMBER",
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        "red",
        "TLP:RED",
    ),
];

/// `created` of the TLP 1.0 marking definitions (§7.2.1.4).
pub(crate) const TLP1_CREATED: &str = "2017-01-20T00:00:00.000Z";

/// The TLP 2.0 marking definitions published by the OASIS CTI TC in
/// cti-stix-common-objects: `(id, tlp_2_0 value, name)`.
pub(crate) const TLP2: &[(&str, &str, &str)] = &[
    (
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "clear",
        "TLP:CLEAR",
    ),
    (
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "green",
        "TLP:GREEN",
    ),
    (
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "amber",
        "TLP:AMBER",
    ),
    (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "amber+strict",
        "TLP:AMBER+STRICT",
    ),
    (
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        "red",
        "TLP:RED",
    ),
];

/// `created` of the TLP 2.0 marking definitions.
pub(crate) const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The extension definition that carries `tlp_2_0`.
pub(crate) const TLP2_EXTENSION: &str =
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

// The open vocabularies of §10. Values outside them are warnings.
/// Open vocabulary (§10).
pub(crate) const ATTACK_MOTIVATION: &[&str] = &[
    "accidental",
    "coercion",
    "dominance",
    "ideology",
    "notoriety",
    "organizational-gain",
    "personal-gain",
    "personal-satisfaction",
    "revenge",
    "unpredictable",
];
/// Open vocabulary (§10).
pub(crate) const ATTACK_RESOURCE_LEVEL: &[&str] = &[
    "individual",
    "club",
    "contest",
    "team",
    "organization",
    "government",
];
/// Open vocabulary (§10).
pub(crate) const GROUPING_CONTEXT: &[&str] =
    &["suspicious-activity", "malware-analysis", "unspecified"];
/// Open vocabulary (§10).
pub(crate) const IDENTITY_CLASS: &[&str] = &[
    "individual",
    "group",
    "system",
    "organization",
    "class",
    "unknown",
];
/// Open vocabulary (§10).
pub(crate) const IMPLEMENTATION_LANGUAGE: &[&str] = &[
    "applescript",
    "bash",
    "c",
    "c++",
    "c#",
    "go",
    "java",
    "javascript",
    "lua",
    "objective-c",
    "perl",
    "php",
    "powershell",
    "python",
    "ruby",
    "scala",
    "swift",
    "typescript",
    "visual-basic",
    "x86-32",
    "x86-64",
];
/// Open vocabulary (§10).
pub(crate) const INDICATOR_TYPE: &[&str] = &[
    "anomalous-activity",
    "anonymization",
    "benign",
    "compromised",
    "malicious-activity",
    "attribution",
    "unknown",
];
/// Open vocabulary (§10).
pub(crate) const INDUSTRY_SECTOR: &[&str] = &[
    "agriculture",
    "aerospace",
    "automotive",
    "chemical",
    "commercial",
    "communications",
    "construction",
    "defense",
    "education",
    "energy",
    "entertainment",
    "financial-services",
    "government",
    "emergency-services",
    "government-local",
    "government-national",
    "government-public-services",
    "government-regional",
    "healthcare",
    "hospitality-leisure",
    "infrastructure",
    "dams",
    "nuclear",
    "water",
    "insurance",
    "manufacturing",
    "mining",
    "non-profit",
    "pharmaceuticals",
    "retail",
    "technology",
    "telecommunications",
    "transportation",
    "utilities",
];
/// Open vocabulary (§10).
pub(crate) const INFRASTRUCTURE_TYPE: &[&str] = &[
    "amplification",
    "anonymization",
    "botnet",
    "command-and-control",
    "control-system",
    "exfiltration",
    "firewall",
    "hosting-malware",
    "hosting-target-lists",
    "phishing",
    "reconnaissance",
    "routers-switches",
    "staging",
    "workstation",
    "unknown",
];
/// Open vocabulary (§10).
pub(crate) const MALWARE_RESULT: &[&str] = &["malicious", "suspicious", "benign", "unknown"];
/// Open vocabulary (§10).
pub(crate) const MALWARE_TYPE: &[&str] = &[
    "adware",
    "backdoor",
    "bot",
    "bootkit",
    "ddos",
    "downloader",
    "dropper",
    "exploit-kit",
    "keylogger",
    "ransomware",
    "remote-access-trojan",
    "resource-exploitation",
    "rogue-security-software",
    "rootkit",
    "screen-capture",
    "spyware",
    "trojan",
    "unknown",
    "virus",
    "webshell",
    "wiper",
    "worm",
];
/// Open vocabulary (§10).
pub(crate) const MALWARE_CAPABILITIES: &[&str] = &[
    "accesses-remote-machines",
    "anti-debugging",
    "anti-disassembly",
    "anti-emulation",
    "anti-memory-forensics",
    "anti-sandbox",
    "anti-vm",
    "captures-input-peripherals",
    "captures-output-peripherals",
    "captures-system-state-data",
    "cleans-traces-of-infection",
    "commits-fraud",
    "communicates-with-c2",
    "compromises-data-availability",
    "compromises-data-integrity",
    "compromises-system-availability",
    "controls-local-machine",
    "degrades-security-software",
    "degrades-system-updates",
    "determines-c2-server",
    "emails-spam",
    "escalates-privileges",
    "evades-av",
    "exfiltrates-data",
    "fingerprints-host",
    "hides-artifacts",
    "hides-executing-code",
    "infects-files",
    "infects-remote-machines",
    "installs-other-components",
    "persists-after-system-reboot",
    "prevents-artifact-access",
    "prevents-artifact-deletion",
    "probes-network-environment",
    "self-modifies",
    "steals-authentication-credentials",
    "violates-system-operational-integrity",
];
/// Open vocabulary (§10).
pub(crate) const PATTERN_TYPE: &[&str] = &["stix", "pcre", "sigma", "snort", "suricata", "yara"];
/// Open vocabulary (§10).
pub(crate) const PROCESSOR_ARCHITECTURE: &[&str] = &[
    "alpha", "arm", "ia-64", "mips", "powerpc", "sparc", "x86", "x86-64",
];
/// Open vocabulary (§10).
pub(crate) const REGION: &[&str] = &[
    "africa",
    "eastern-africa",
    "middle-africa",
    "northern-africa",
    "southern-africa",
    "western-africa",
    "americas",
    "latin-america-caribbean",
    "south-america",
    "caribbean",
    "central-america",
    "northern-america",
    "asia",
    "central-asia",
    "eastern-asia",
    "southern-asia",
    "south-eastern-asia",
    "western-asia",
    "europe",
    "eastern-europe",
    "northern-europe",
    "southern-europe",
    "western-europe",
    "oceania",
    "australia-new-zealand",
    "melanesia",
    "micronesia",
    "polynesia",
    "antarctica",
];
/// Open vocabulary (§10).
pub(crate) const REPORT_TYPE: &[&str] = &[
    "threat-report",
    "attack-pattern",
    "campaign",
    "identity",
    "indicator",
    "intrusion-set",
    "malware",
    "observed-data",
    "threat-actor",
    "tool",
    "vulnerability",
];
/// Open vocabulary (§10).
pub(crate) const THREAT_ACTOR_TYPE: &[&str] = &[
    "activist",
    "competitor",
    "crime-syndicate",
    "criminal",
    "hacker",
    "insider-accidental",
    "insider-disgruntled",
    "nation-state",
    "sensationalist",
    "spy",
    "terrorist",
    "unknown",
];
/// Open vocabulary (§10).
pub(crate) const THREAT_ACTOR_ROLE: &[&str] = &[
    "agent",
    "director",
    "independent",
    "infrastructure-architect",
    "infrastructure-operator",
    "malware-author",
    "sponsor",
];
/// Open vocabulary (§10).
pub(crate) const THREAT_ACTOR_SOPHISTICATION: &[&str] = &[
    "none",
    "minimal",
    "intermediate",
    "advanced",
    "expert",
    "innovator",
    "strategic",
];
/// Open vocabulary (§10).
pub(crate) const TOOL_TYPE: &[&str] = &[
    "denial-of-service",
    "exploitation",
    "information-gathering",
    "network-capture",
    "credential-exploitation",
    "remote-access",
    "vulnerability-scanning",
    "unknown",
];
/// Open vocabulary (§10).
pub(crate) const HASH_ALGORITHM: &[&str] = &[
    "MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH",
];
/// Open vocabulary (§10).
pub(crate) const WINDOWS_PEBINARY_TYPE: &[&str] = &["exe", "dll", "sys"];
/// Open vocabulary (§10).
pub(crate) const ACCOUNT_TYPE: &[&str] = &[
    "unix",
    "windows-local",
    "windows-domain",
    "ldap",
    "tacacs",
    "radius",
    "nis",
    "openid",
    "facebook",
    "skype",
    "twitter",
    "kavi",
];
